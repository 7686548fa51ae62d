"""Fernet keys made per test run, so no test depends on the development key."""

from cryptography.fernet import Fernet

KEY_A = Fernet.generate_key().decode()
KEY_B = Fernet.generate_key().decode()
INDEX_KEY = Fernet.generate_key().decode()

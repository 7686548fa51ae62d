"""Encryption at rest: Fernet (AES-128-CBC + HMAC-SHA256, authenticated) under a MultiFernet of
the keys in CRM_ENCRYPTION_KEYS, and HMAC-SHA256 blind indexes for exact-match lookups.

- `ciphers`: encrypt, decrypt, rotate one value; the blind index of an e-mail or phone.
- `fields`: the model fields that store ciphertext and the blind-index columns beside them.
- `rows`: batch work over stored rows (the data migrations and `rotate_encryption_key`).
- `storage`: a file storage that encrypts what it writes (import uploads).
"""

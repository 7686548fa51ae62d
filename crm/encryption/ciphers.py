"""One value in, one value out: Fernet tokens under the configured keys, and blind indexes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class UndecryptableValue(Exception):
    """A stored value no configured key can decrypt: a wrong key, a key removed before rotation
    finished, or a row never encrypted. Raised instead of returning garbage."""


@lru_cache(maxsize=8)
def _ciphers(keys: tuple[str, ...]) -> tuple[MultiFernet, Fernet]:
    fernets = [Fernet(key.encode()) for key in keys]
    return MultiFernet(fernets), fernets[0]


def _configured() -> tuple[MultiFernet, Fernet]:
    # Keyed by the tuple, so override_settings in tests and a changed environment take effect.
    return _ciphers(tuple(settings.CRM_ENCRYPTION_KEYS))


def encrypt_bytes(data: bytes) -> bytes:
    return _configured()[0].encrypt(data)


def decrypt_bytes(token: bytes, *, where: str = "a stored value") -> bytes:
    try:
        return _configured()[0].decrypt(token)
    except InvalidToken:
        raise UndecryptableValue(
            f"{where} cannot be decrypted with any key in CRM_ENCRYPTION_KEYS: the key that "
            "wrote it is missing or wrong (was a key removed before `manage.py "
            "rotate_encryption_key` finished?)"
        ) from None


def encrypt(text: str) -> str:
    """The Fernet token of `text`; the empty string stays empty, so "has no e-mail" filters work."""
    if text == "":
        return ""
    return encrypt_bytes(text.encode()).decode("ascii")


def decrypt(token: str, *, where: str = "a stored value") -> str:
    if token == "":
        return ""
    return decrypt_bytes(token.encode("ascii", "replace"), where=where).decode()


def looks_like_token(value: str) -> bool:
    """A Fernet token: url-safe base64 of a version byte 0x80 and a 64-bit timestamp, so it
    starts with "gAAAAA" — which no plain e-mail, phone or message written before does."""
    return value.startswith("gAAAAA")


def can_decrypt(token: str) -> bool:
    try:
        _configured()[0].decrypt(token.encode("ascii", "replace"))
    except InvalidToken:
        return False
    return True


def is_under_newest_key(token: str) -> bool:
    try:
        _configured()[1].decrypt(token.encode("ascii", "replace"))
    except InvalidToken:
        return False
    return True


def rotate(token: str) -> str:
    """The same plaintext under the newest key (MultiFernet.rotate keeps the token's timestamp)."""
    if token == "":
        return ""
    try:
        return _configured()[0].rotate(token.encode("ascii", "replace")).decode("ascii")
    except InvalidToken:
        raise UndecryptableValue(
            "a stored value cannot be decrypted with any key in CRM_ENCRYPTION_KEYS, so it "
            "cannot be rotated; put the key that wrote it back into the list"
        ) from None


# --- blind indexes ------------------------------------------------------------------------------

# The phone rule of the data-quality KPI (kpis/definitions/quality.py): trimmed, then spaces,
# dashes, parentheses, dots and slashes removed. "+49 (30) 1234-5" and "+49301234 5" match.
_PHONE_NOISE = re.compile(r"[ \-()./]")


def normalise_email(value: str) -> str:
    return value.strip().lower()


def normalise_phone(value: str) -> str:
    return _PHONE_NOISE.sub("", value.strip())


def normalise_email_domain(value: str) -> str:
    """The domain of an e-mail address ("" without an "@"): companies sharing one may be one."""
    local, at, domain = normalise_email(value).rpartition("@")
    return domain if at and local else ""


NORMALISERS = {
    "email": normalise_email,
    "phone": normalise_phone,
    "email_domain": normalise_email_domain,
}


@lru_cache(maxsize=8)
def _index_key(key: str) -> bytes:
    return base64.urlsafe_b64decode(key.encode("ascii"))


def blind_index(kind: str, value: str) -> str:
    """HMAC-SHA256 (hex) of the normalised value under CRM_BLIND_INDEX_KEY; empty stays empty.

    The kind is part of the message, so an e-mail and a phone with the same text never collide.
    """
    normalised = NORMALISERS[kind](value or "")
    if normalised == "":
        return ""
    message = f"{kind}:{normalised}".encode()
    return hmac.new(_index_key(settings.CRM_BLIND_INDEX_KEY), message, hashlib.sha256).hexdigest()

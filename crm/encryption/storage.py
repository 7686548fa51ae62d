"""A file storage that encrypts what it writes, with the keys of CRM_ENCRYPTION_KEYS.

A file is a sequence of records, each a 4-byte big-endian length and a Fernet token, so files
of any size stream through in MiB chunks instead of one in-memory token. Each token's plaintext
starts with a random file id, its chunk number and a last-chunk flag: reordered, dropped,
truncated or spliced-in chunks (from another file) are refused (UndecryptableValue), not read.
Files are written owner-only (0600) in a directory only the owner can enter (0700).
"""

from __future__ import annotations

import io
import secrets
import struct
from collections.abc import Iterator
from typing import IO, Any

from django.core.files import File
from django.core.files.storage import FileSystemStorage

from crm.encryption.ciphers import UndecryptableValue, decrypt_bytes, encrypt_bytes

CHUNK_BYTES = 1024 * 1024
_LENGTH = struct.Struct(">I")
_HEADER = struct.Struct(">16sQ?")  # file id, chunk number, is the last chunk


def encrypt_stream(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """The records of an encrypted file for a stream of plaintext chunks (any sizes)."""
    number = 0
    file_id = secrets.token_bytes(16)
    buffered = b""
    for chunk in chunks:
        buffered += chunk
        # Hold back at least one byte, so the final record is known to be the last one.
        while len(buffered) > CHUNK_BYTES:
            yield _record(file_id, number, buffered[:CHUNK_BYTES], last=False)
            number += 1
            buffered = buffered[CHUNK_BYTES:]
    yield _record(file_id, number, buffered, last=True)


def _record(file_id: bytes, number: int, data: bytes, *, last: bool) -> bytes:
    token = encrypt_bytes(_HEADER.pack(file_id, number, last) + data)
    return _LENGTH.pack(len(token)) + token


def decrypt_stream(source: IO[bytes], *, where: str = "an encrypted file") -> Iterator[bytes]:
    """The plaintext chunks of an encrypted file; raises UndecryptableValue on any tampering."""
    expected = 0
    first_id: bytes | None = None
    while True:
        length = source.read(_LENGTH.size)
        if len(length) < _LENGTH.size:
            raise UndecryptableValue(f"{where} is truncated")
        token = source.read(_LENGTH.unpack(length)[0])
        plain = decrypt_bytes(token, where=where)
        file_id, number, last = _HEADER.unpack(plain[: _HEADER.size])
        first_id = first_id or file_id
        if number != expected or file_id != first_id:
            raise UndecryptableValue(f"{where} has chunks out of order or from another file")
        yield plain[_HEADER.size :]
        if last:
            if source.read(1):
                raise UndecryptableValue(f"{where} has data after its last chunk")
            return
        expected += 1


class EncryptedFileSystemStorage(FileSystemStorage):
    """FileSystemStorage whose files hold ciphertext; `open` returns the decrypted content."""

    def __init__(self, location: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("file_permissions_mode", 0o600)
        kwargs.setdefault("directory_permissions_mode", 0o700)
        super().__init__(location=location, **kwargs)

    def _save(self, name: str, content: File) -> str:
        return super()._save(name, _EncryptingFile(content))  # type: ignore[misc]

    def _open(self, name: str, mode: str = "rb") -> File:
        if "w" in mode or "a" in mode or "+" in mode:
            raise ValueError("encrypted files are written through save(), not opened for writing")
        with super()._open(name, "rb") as stored:  # type: ignore[misc]
            plain = b"".join(decrypt_stream(stored, where=f"stored file {name}"))
        return File(io.BytesIO(plain), name=name)

    def copy_to(self, name: str, target: IO[bytes]) -> int:
        """Stream the decrypted content of `name` into `target` (no full copy in memory)."""
        written = 0
        with super()._open(name, "rb") as stored:  # type: ignore[misc]
            for chunk in decrypt_stream(stored, where=f"stored file {name}"):
                target.write(chunk)
                written += len(chunk)
        return written


class _EncryptingFile(File):
    """Presents `content`'s chunks encrypted to FileSystemStorage._save, which streams them."""

    def __init__(self, content: File) -> None:
        super().__init__(None, name=content.name)
        self._content = content

    def chunks(self, chunk_size: int | None = None) -> Iterator[bytes]:
        return encrypt_stream(iter(self._content.chunks()))

    def multiple_chunks(self, chunk_size: int | None = None) -> bool:
        return True

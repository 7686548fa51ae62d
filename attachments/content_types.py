"""What a file is, read from its first bytes and (for Office files) its zip directory — never
from the browser's or the sender's claim, which anyone can set."""

from __future__ import annotations

import zipfile
from typing import IO

SNIFF_BYTES = 8192

# Leading signatures of binary formats.
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "application/x-ole-storage"),  # legacy .doc/.xls
    (b"MZ", "application/x-msdownload"),
    (b"\x7fELF", "application/x-executable"),
)

# Office Open XML files are zips; the part that names the kind of document.
_OFFICE_PARTS = (
    (
        "word/document.xml",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
    ("xl/workbook.xml", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    (
        "ppt/presentation.xml",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ),
)

_TEXT_CONTROL = set(range(0, 9)) | {11, 12} | set(range(14, 32)) | {127}

# Plain text is told apart by its name only among text types (a ".csv" of text is CSV).
_TEXT_SUFFIXES = {".csv": "text/csv"}


def sniff_content_type(file: IO[bytes], name: str) -> str:
    """The content type of `file` from its content; the file position is restored."""
    start = file.tell()
    try:
        head = file.read(SNIFF_BYTES)
        for signature, content_type in _SIGNATURES:
            if head.startswith(signature):
                return content_type
        if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
            return "image/webp"
        if head.startswith(b"PK\x03\x04"):
            file.seek(start)
            return _zip_content_type(file)
        if _is_text(head):
            suffix = name[name.rfind(".") :].lower() if "." in name else ""
            return _TEXT_SUFFIXES.get(suffix, "text/plain")
        return "application/octet-stream"
    finally:
        file.seek(start)


def _zip_content_type(file: IO[bytes]) -> str:
    try:
        with zipfile.ZipFile(file) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return "application/octet-stream"
    for part, content_type in _OFFICE_PARTS:
        if part in names:
            return content_type
    return "application/zip"


def _is_text(head: bytes) -> bool:
    if not head:
        return True
    if any(byte in _TEXT_CONTROL for byte in head):
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        # A multi-byte character cut by the sniff window is still text.
        return error.start >= len(head) - 3 and len(head) == SNIFF_BYTES
    return True

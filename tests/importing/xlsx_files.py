"""Hostile XLSX files for the import tests, generated on the fly (nothing large is committed)."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path

import openpyxl

SHEET = "xl/worksheets/sheet1.xml"
SHEET_OPEN = (
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
)
SHEET_CLOSE = b"</sheetData></worksheet>"

# (raw deflate parts, crc32, unpacked size) of one zip member
Member = tuple[list[bytes], int, int]


def _deflate(data: bytes) -> Member:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return [compressor.compress(data) + compressor.flush()], zlib.crc32(data), len(data)


def _deflate_repeated(prefix: bytes, chunk: bytes, times: int, suffix: bytes) -> Member:
    """prefix + chunk × times + suffix, compressing the chunk once: a full flush makes each
    compressed chunk independent of the bytes before it, so the same bytes can be repeated."""

    def flushed(data: bytes, mode: int) -> bytes:
        compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
        return compressor.compress(data) + compressor.flush(mode)

    block = flushed(chunk, zlib.Z_FULL_FLUSH)
    crc = zlib.crc32(prefix)
    for _ in range(times):
        crc = zlib.crc32(chunk, crc)
    crc = zlib.crc32(suffix, crc)
    parts = [flushed(prefix, zlib.Z_FULL_FLUSH), *([block] * times), flushed(suffix, zlib.Z_FINISH)]
    return parts, crc, len(prefix) + len(chunk) * times + len(suffix)


def _write_zip(path: Path, members: dict[str, Member]) -> None:
    """A plain (non-zip64) zip of deflated members, written part by part."""
    entries = []
    with path.open("wb") as target:
        for name, (parts, crc, size) in members.items():
            offset = target.tell()
            packed = sum(len(part) for part in parts)
            encoded = name.encode()
            target.write(
                struct.pack(
                    "<4sHHHHHIIIHH",
                    b"PK\x03\x04",
                    20,
                    0,
                    8,
                    0,
                    0x21,
                    crc,
                    packed,
                    size,
                    len(encoded),
                    0,
                )  # fmt: skip
                + encoded
            )
            for part in parts:
                target.write(part)
            entries.append((encoded, crc, packed, size, offset))
        directory = target.tell()
        for encoded, crc, packed, size, offset in entries:
            target.write(
                struct.pack(
                    "<4sHHHHHHIIIHHHHHII",
                    b"PK\x01\x02",
                    20,
                    20,
                    0,
                    8,
                    0,
                    0x21,
                    crc,
                    packed,
                    size,
                    len(encoded),
                    0,
                    0,
                    0,
                    0,
                    0,
                    offset,
                )  # fmt: skip
                + encoded
            )
        end = target.tell()
        target.write(
            struct.pack(
                "<4sHHHHIIH",
                b"PK\x05\x06",
                0,
                0,
                len(entries),
                len(entries),
                end - directory,
                directory,
                0,
            )  # fmt: skip
        )


def _workbook_parts(rows: Sequence[Sequence[object]]) -> dict[str, bytes]:
    """The parts of a real workbook (openpyxl-written) holding `rows`."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    with zipfile.ZipFile(buffer) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def write_xlsx(path: Path, rows: Sequence[Sequence[object]]) -> Path:
    parts = _workbook_parts(rows)
    _write_zip(path, {name: _deflate(data) for name, data in parts.items()})
    return path


def write_xlsx_with_sheet(path: Path, sheet_xml: bytes) -> Path:
    """A real workbook whose first sheet's XML is replaced by `sheet_xml` (malformed …)."""
    parts = _workbook_parts([["external_id"]])
    parts[SHEET] = sheet_xml
    _write_zip(path, {name: _deflate(data) for name, data in parts.items()})
    return path


def write_xlsx_bomb(path: Path, *, unpacked_mb: int = 1024, cell_chars: int = 2000) -> Path:
    """A real workbook whose sheet unpacks to about `unpacked_mb` MB of identical rows
    (1 GB → a file of about 2 MB)."""
    parts = _workbook_parts([["external_id"]])
    row = b'<row><c t="inlineStr"><is><t>' + b"A" * cell_chars + b"</t></is></c></row>"
    chunk = row * (1024 * 1024 // len(row))
    members = {name: _deflate(data) for name, data in parts.items() if name != SHEET}
    members[SHEET] = _deflate_repeated(SHEET_OPEN, chunk, unpacked_mb, SHEET_CLOSE)
    _write_zip(path, members)
    return path

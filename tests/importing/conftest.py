import csv
import io
from collections.abc import Callable
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError


@pytest.fixture
def write_csv(tmp_path: Path) -> Callable[..., Path]:
    """write_csv("orders.csv", [header, *rows], delimiter=";", bom=True) → the file's path."""

    def write(name: str, rows: list[list[str]], *, delimiter: str = ",", bom: bool = False) -> Path:
        buffer = io.StringIO()
        csv.writer(buffer, delimiter=delimiter, lineterminator="\n").writerows(rows)
        path = tmp_path / name
        path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + buffer.getvalue().encode("utf-8"))
        return path

    return write


class CommandResult:
    def __init__(self, ok: bool, out: str, err: str) -> None:
        self.ok, self.out, self.err = ok, out, err


@pytest.fixture
def import_data() -> Callable[..., CommandResult]:
    """Run `manage.py import_data`; returns ok (exit 0), stdout and stderr."""

    def run(kind: str, path: Path, *args: str) -> CommandResult:
        out, err = io.StringIO(), io.StringIO()
        try:
            call_command("import_data", kind, str(path), *args, stdout=out, stderr=err)
        except CommandError as exc:
            err.write(str(exc))
            return CommandResult(False, out.getvalue(), err.getvalue())
        return CommandResult(True, out.getvalue(), err.getvalue())

    return run

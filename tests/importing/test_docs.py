"""docs/import.md documents every column of every kind."""

import re
from pathlib import Path

from crm.importing.registry import KINDS

DOC = Path(__file__).resolve().parents[2] / "docs" / "import.md"


def test_every_kind_and_column_is_documented():
    text = DOC.read_text(encoding="utf-8")
    sections = dict(re.findall(r"^### (\w+)\n(.*?)(?=^### |^## |\Z)", text, flags=re.M | re.S))

    for key, kind in KINDS.items():
        assert key in sections, key
        for column in kind.columns:
            assert f"`{column.name}" in sections[key], (key, column.name)

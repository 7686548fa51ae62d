import pytest

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def attachment_storage_dir(tmp_path):
    """Where this test's attachments are stored (tests/conftest.py points the storage there)."""
    return tmp_path / "attachments"


def stored_files(location):
    return (
        sorted(path for path in location.rglob("*") if path.is_file()) if location.exists() else []
    )

import pytest

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(autouse=True)
def attachment_storage_dir(settings, tmp_path):
    """Each test stores its files in its own folder (encrypted, as in production)."""
    location = tmp_path / "attachments"
    settings.STORAGES = {
        **settings.STORAGES,
        "attachments": {
            "BACKEND": "crm.encryption.storage.EncryptedFileSystemStorage",
            "OPTIONS": {"location": str(location)},
        },
    }
    return location


def stored_files(location):
    return (
        sorted(path for path in location.rglob("*") if path.is_file()) if location.exists() else []
    )

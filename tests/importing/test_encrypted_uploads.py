# mypy: disable-error-code="arg-type,attr-defined,misc,union-attr,assignment,index"
"""Import uploads hold customer data: stored encrypted and owner-readable only, deleted after
the import has run, and by the beat task once older than CRM_IMPORT_UPLOAD_TTL_HOURS."""

import datetime as dt
import io
import os
import stat
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from crm.encryption.ciphers import UndecryptableValue
from crm.encryption.storage import CHUNK_BYTES, EncryptedFileSystemStorage, decrypt_stream
from crm.importing.files import ImportFileError
from crm.importing.uploads import upload_get, upload_plain_file, upload_store
from crm.tasks import import_uploads_expire
from customers.models import Customer
from tests.crm.encryption_keys import INDEX_KEY, KEY_A
from tests.customers.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.importing.urls")]

CUSTOMERS = b"external_id,name,email\nC-1,Ada Ltd,ada@example.com\nC-2,Bob Ltd,bob@example.com\n"


@pytest.fixture(autouse=True)
def _keys_and_folder(settings, tmp_path):
    settings.CRM_ENCRYPTION_KEYS = [KEY_A]
    settings.CRM_BLIND_INDEX_KEY = INDEX_KEY
    settings.CRM_IMPORT_DIR = str(tmp_path / "uploads")


def test_an_upload_is_stored_encrypted_and_owner_readable_only(settings):
    token = upload_store(
        uploaded=SimpleUploadedFile("customers.csv", CUSTOMERS), kind="customers", user_id=1
    )
    path = Path(upload_get(token)["path"])

    assert b"ada@example.com" not in path.read_bytes()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    with upload_plain_file(upload_get(token)) as plain:
        assert plain.read_bytes() == CUSTOMERS
        assert stat.S_IMODE(plain.stat().st_mode) == 0o600
    assert not plain.exists()  # the plain copy lives only while it is read


def test_an_upload_over_the_size_limit_leaves_no_file(settings):
    settings.CRM_IMPORT_MAX_BYTES = 10
    with pytest.raises(ImportFileError, match="larger than the limit"):
        upload_store(
            uploaded=SimpleUploadedFile("customers.csv", CUSTOMERS), kind="customers", user_id=1
        )
    assert list(Path(settings.CRM_IMPORT_DIR).iterdir()) == []


def test_the_file_is_deleted_after_the_import_ran_but_not_after_a_dry_run(
    client, django_capture_on_commit_callbacks
):
    client.force_login(UserFactory(role="Manager"))
    response = client.post(
        reverse("imports:upload"),
        {"kind": "customers", "file": SimpleUploadedFile("customers.csv", CUSTOMERS)},
    )
    token = response.url.rstrip("/").rsplit("/", 1)[1]
    path = Path(upload_get(token)["path"])
    run_url = reverse("imports:run", args=[token])

    with django_capture_on_commit_callbacks(execute=True):
        client.post(run_url, {"action": "dry_run"})
    assert path.exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(run_url, {"action": "commit"})

    assert not path.exists()
    assert "Imported 2 of 2 rows" in client.get(response.url).content.decode()
    assert Customer.objects.get(external_id="C-1").email == "ada@example.com"


def test_the_beat_task_deletes_uploads_older_than_the_ttl(settings):
    settings.CRM_IMPORT_UPLOAD_TTL_HOURS = 24
    old = upload_store(uploaded=SimpleUploadedFile("a.csv", CUSTOMERS), kind="customers", user_id=1)
    new = upload_store(uploaded=SimpleUploadedFile("b.csv", CUSTOMERS), kind="customers", user_id=1)
    old_path, new_path = Path(upload_get(old)["path"]), Path(upload_get(new)["path"])
    day_ago = (timezone.now() - dt.timedelta(hours=25)).timestamp()
    os.utime(old_path, (day_ago, day_ago))

    assert import_uploads_expire.delay().get() == 1

    assert (old_path.exists(), new_path.exists()) == (False, True)


def test_large_files_stream_in_chunks_and_tampering_is_refused(tmp_path):
    storage = EncryptedFileSystemStorage(location=str(tmp_path))
    content = os.urandom(2 * CHUNK_BYTES + 5)  # three chunks
    name = storage.save("big.bin", ContentFile(content))
    assert storage.open(name).read() == content
    stored = (tmp_path / name).read_bytes()

    truncated = io.BytesIO(stored[: len(stored) // 2])
    with pytest.raises(UndecryptableValue):
        b"".join(decrypt_stream(truncated))
    flipped = bytearray(stored)
    flipped[100] ^= 1
    with pytest.raises(UndecryptableValue):
        b"".join(decrypt_stream(io.BytesIO(bytes(flipped))))
    # The first chunk of another file with the same content and key cannot be spliced in.
    other = (tmp_path / storage.save("other.bin", ContentFile(content))).read_bytes()
    first_length = 4 + int.from_bytes(stored[:4], "big")
    spliced = other[:first_length] + stored[first_length:]
    with pytest.raises(UndecryptableValue, match="another file"):
        b"".join(decrypt_stream(io.BytesIO(spliced)))

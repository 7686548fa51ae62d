"""Uploaded files waiting for their preview, dry run and commit: the file on disk and its
metadata in a JSON file beside it, under an unguessable token, readable only by the user who
uploaded it. The metadata is not kept in the cache, so an upload made while Redis is down is still
found by its preview page (the preview itself then waits for the broker).

The files hold customer data, so they are stored encrypted (crm/encryption/storage.py) and
owner-readable only (0600), deleted once the import has run and, if it never runs, by the beat
task `crm.tasks.import_uploads_expire` after CRM_IMPORT_UPLOAD_TTL_HOURS. Readers get the plain
content through `upload_plain_file`: a 0600 temporary copy that exists only while they read it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files import File
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.encryption.storage import EncryptedFileSystemStorage
from crm.importing.files import ImportFileError, file_format, max_import_bytes


def upload_dir() -> Path:
    """settings.CRM_IMPORT_DIR, else a folder in the system temp dir (shared with the worker)."""
    configured = getattr(settings, "CRM_IMPORT_DIR", None)
    directory = Path(configured) if configured else Path(tempfile.gettempdir()) / "pulse-imports"
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    return directory


def upload_storage() -> EncryptedFileSystemStorage:
    return EncryptedFileSystemStorage(location=str(upload_dir()))


def _metadata_path(token: str) -> Path:
    # Tokens are url-safe base64: no path separators can reach the file name.
    return upload_dir() / f"{token}.json"


def progress_key(token: str) -> str:
    return f"imports:progress:{token}"


class _SizeLimited(File):
    """The upload's chunks, refused once they pass the import size limit."""

    def __init__(self, uploaded: Any, limit: int) -> None:
        super().__init__(None, name=str(uploaded.name))
        self._uploaded = uploaded
        self._limit = limit
        self.written = 0

    def chunks(self, chunk_size: int | None = None) -> Iterator[bytes]:
        for chunk in self._uploaded.chunks():
            self.written += len(chunk)
            if self.written > self._limit:
                raise ImportFileError(
                    _("The file is larger than the limit of %(limit)s MB.")
                    % {"limit": round(self._limit / 1024 / 1024, 1)}
                )
            yield chunk


def upload_store(*, uploaded: Any, kind: str, user_id: int) -> str:
    """Save an upload encrypted (streamed chunk by chunk, size-checked); returns its token."""
    name = str(uploaded.name)
    suffix = "." + file_format(name)  # refuses unknown types before writing anything
    token = secrets.token_urlsafe(16)
    storage = upload_storage()
    stored_name = f"{token}{suffix}.enc"
    content = _SizeLimited(uploaded, max_import_bytes())
    try:
        storage.save(stored_name, content)
    except ImportFileError:
        storage.delete(stored_name)
        raise
    metadata = {
        "path": str(Path(storage.path(stored_name))),
        "name": name,
        "kind": kind,
        "user": user_id,
        "size": content.written,
    }
    descriptor = os.open(_metadata_path(token), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as target:
        json.dump(metadata, target)
    return token


def upload_get(token: str, *, user_id: int | None = None) -> dict[str, Any] | None:
    if not token or not all(c.isalnum() or c in "-_" for c in token):
        return None
    try:
        upload = json.loads(_metadata_path(token).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if user_id is not None and upload["user"] != user_id:
        return None
    return dict(upload)


@contextmanager
def upload_plain_file(upload: dict[str, Any]) -> Iterator[Path]:
    """A decrypted temporary copy of the upload (same suffix, mode 0600), removed on exit."""
    stored = Path(upload["path"])
    if not stored.exists():
        raise ImportFileError(_("The upload has expired; upload the file again."))
    suffix = Path(upload["name"]).suffix
    with tempfile.TemporaryDirectory(prefix="pulse-import-") as folder:  # created 0700
        plain = Path(folder) / f"upload{suffix}"
        with plain.open("wb") as target:
            plain.chmod(0o600)
            upload_storage().copy_to(stored.name, target)
        yield plain


def upload_delete(token: str) -> None:
    """Delete the upload's file once the import has run. The metadata (file name, kind, owner)
    stays until the upload expires, so the status page can still show the report."""
    upload = upload_get(token)
    if upload is not None:
        Path(upload["path"]).unlink(missing_ok=True)


def uploads_expire(*, now: dt.datetime | None = None) -> int:
    """Delete stored uploads older than CRM_IMPORT_UPLOAD_TTL_HOURS; returns how many."""
    now = now or timezone.now()
    cutoff = (now - dt.timedelta(hours=settings.CRM_IMPORT_UPLOAD_TTL_HOURS)).timestamp()
    deleted = 0
    for path in upload_dir().iterdir():
        if path.is_file() and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            deleted += 1
    return deleted

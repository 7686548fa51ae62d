"""Uploaded files waiting for their preview, dry run and commit: the file on disk, its metadata
in the cache under an unguessable token, readable only by the user who uploaded it."""

from __future__ import annotations

import secrets
import tempfile
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext as _

from crm.importing.files import ImportFileError, file_format, max_import_bytes

UPLOAD_TIMEOUT = 24 * 60 * 60


def upload_dir() -> Path:
    """settings.CRM_IMPORT_DIR, else a folder in the system temp dir (shared with the worker)."""
    configured = getattr(settings, "CRM_IMPORT_DIR", None)
    directory = Path(configured) if configured else Path(tempfile.gettempdir()) / "pulse-imports"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def _key(token: str) -> str:
    return f"imports:upload:{token}"


def progress_key(token: str) -> str:
    return f"imports:progress:{token}"


def upload_store(*, uploaded: Any, kind: str, user_id: int) -> str:
    """Save an uploaded file (streamed chunk by chunk, size-checked); returns its token."""
    name = str(uploaded.name)
    suffix = "." + file_format(name)  # refuses unknown types before writing anything
    limit = max_import_bytes()
    token = secrets.token_urlsafe(16)
    path = upload_dir() / f"{token}{suffix}"
    written = 0
    target: IO[bytes]
    with path.open("wb") as target:
        for chunk in uploaded.chunks():
            written += len(chunk)
            if written > limit:
                target.close()
                path.unlink(missing_ok=True)
                raise ImportFileError(
                    _("The file is larger than the limit of %(limit)s MB.")
                    % {"limit": round(limit / 1024 / 1024, 1)}
                )
            target.write(chunk)
    cache.set(
        _key(token),
        {"path": str(path), "name": name, "kind": kind, "user": user_id, "size": written},
        UPLOAD_TIMEOUT,
    )
    return token


def upload_get(token: str, *, user_id: int | None = None) -> dict[str, Any] | None:
    upload = cache.get(_key(token))
    if upload is None or (user_id is not None and upload["user"] != user_id):
        return None
    return dict(upload)

"""Writes of attachments: add (checked: size, type sniffed from the content), move, delete.

A stored file and its row live or die together: files saved for a batch that then fails are
removed again, and a deleted row's file is removed once the deletion has committed."""

from __future__ import annotations

import io
import os
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import IO

from django.conf import settings
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import models, transaction
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _

from attachments.content_types import sniff_content_type
from attachments.models import Attachment, attachment_storage


@dataclass(frozen=True)
class IncomingFile:
    """One file to attach: its original name and its content (an upload or bytes)."""

    name: str
    content: IO[bytes]
    size: int

    @classmethod
    def from_bytes(cls, name: str, data: bytes) -> IncomingFile:
        return cls(name=name, content=io.BytesIO(data), size=len(data))


def _clean_name(name: str) -> str:
    # Only the last path component, without control characters; the row keeps it for display.
    base = os.path.basename(name.replace("\\", "/")).strip()
    base = "".join(char for char in base if char.isprintable())
    return base[:255] or _("unnamed file")


def attachment_check(
    incoming: IncomingFile, *, max_bytes: int | None = None, types: Sequence[str] | None = None
) -> str:
    """The sniffed content type of an acceptable file; ValidationError saying why otherwise."""
    limit = settings.CRM_ATTACHMENT_MAX_BYTES if max_bytes is None else max_bytes
    allowed = settings.CRM_ATTACHMENT_TYPES if types is None else types
    name = _clean_name(incoming.name)
    if incoming.size > limit:
        raise ValidationError(
            _("“%(name)s” is %(size)s; files up to %(limit)s are accepted.")
            % {"name": name, "size": filesizeformat(incoming.size), "limit": filesizeformat(limit)},
            code="too_large",
        )
    if incoming.size == 0:
        raise ValidationError(_("“%(name)s” is empty.") % {"name": name}, code="empty")
    content_type = sniff_content_type(incoming.content, name)
    if content_type not in allowed:
        raise ValidationError(
            _("“%(name)s” is not a file type we accept (PDF, images, text, Office documents).")
            % {"name": name},
            code="type_not_allowed",
        )
    return content_type


def attachments_add(
    *,
    record: models.Model,
    files: Iterable[IncomingFile],
    actor: User | None,
    source: str = Attachment.Source.UPLOAD,
    max_bytes: int | None = None,
) -> list[Attachment]:
    """Attach `files` to `record`, all or none: every file is checked before any is stored."""
    files = list(files)
    if not files:
        raise ValidationError(_("Choose at least one file."), code="no_files")
    if len(files) > settings.CRM_ATTACHMENT_MAX_FILES:
        raise ValidationError(
            _("At most %(count)s files at once.") % {"count": settings.CRM_ATTACHMENT_MAX_FILES},
            code="too_many",
        )
    errors: list[ValidationError] = []
    checked: list[tuple[IncomingFile, str]] = []
    for incoming in files:
        try:
            checked.append((incoming, attachment_check(incoming, max_bytes=max_bytes)))
        except ValidationError as error:
            errors.append(error)
    if errors:
        raise ValidationError(errors)

    content_type = ContentType.objects.get_for_model(record)
    storage = attachment_storage()
    stored: list[str] = []
    try:
        with transaction.atomic():
            created = []
            for incoming, mime_type in checked:
                incoming.content.seek(0)
                stored_name = storage.save(
                    timezone.now().strftime("%Y/%m/") + secrets.token_hex(16),
                    File(incoming.content),
                )
                stored.append(stored_name)
                created.append(
                    Attachment(
                        content_type=content_type,
                        object_id=record.pk,
                        stored_name=stored_name,
                        name=_clean_name(incoming.name),
                        mime_type=mime_type,
                        size=incoming.size,
                        source=source,
                        uploaded_by=actor,
                    )
                )
            Attachment.objects.bulk_create(created)
    except BaseException:
        for name in stored:
            storage.delete(name)
        raise
    return created


def attachment_open(attachment: Attachment) -> File:
    """The stored content (decrypted by the encrypting storage), for the download view."""
    return attachment_storage().open(attachment.stored_name, "rb")


@transaction.atomic
def attachment_delete(*, attachment: Attachment) -> None:
    """Delete the row now and its stored file once the deletion has committed."""
    name = attachment.stored_name
    attachment.delete()
    transaction.on_commit(lambda: attachment_storage().delete(name))


@transaction.atomic
def move_attachments(*, source: models.Model, target: models.Model) -> int:
    """Move every attachment of `source` to `target` (a merge's survivor); the files stay where
    they are. Both records must be of the same model. Returns how many moved."""
    if type(source) is not type(target):
        raise ValueError(
            f"attachments move between records of one model, not {source._meta.label} → "
            f"{target._meta.label}"
        )
    if source.pk == target.pk:
        return 0
    content_type = ContentType.objects.get_for_model(source)
    return Attachment.objects.filter(content_type=content_type, object_id=source.pk).update(
        object_id=target.pk
    )

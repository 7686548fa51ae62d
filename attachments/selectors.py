"""Reads of attachments: a record's files, and one file if the user may see its record."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import QuerySet
from django.http import Http404

from attachments.models import Attachment
from crm.records import RECORD_KINDS, RecordKind, record_kind_of

# The kinds of record that take files.
ATTACHABLE_KINDS = ("customer", "deal", "ticket")


def attachable(record: models.Model) -> bool:
    try:
        return record_kind_of(record).kind in ATTACHABLE_KINDS
    except LookupError:
        return False


def attachments_of(record: models.Model) -> QuerySet[Attachment]:
    return Attachment.objects.filter(
        content_type=ContentType.objects.get_for_model(record), object_id=record.pk
    ).select_related("uploaded_by")


def attachment_visible_to(
    user: AbstractBaseUser | AnonymousUser, pk: int
) -> tuple[Attachment, RecordKind, models.Model]:
    """The attachment, its record's kind and the record, if the user may see the record; 404
    otherwise (a missing file and another team's file look the same)."""
    attachment = Attachment.objects.select_related("content_type").filter(pk=pk).first()
    if attachment is None:
        raise Http404
    model = attachment.content_type.model_class()
    for kind in ATTACHABLE_KINDS:
        record_kind = RECORD_KINDS[kind]
        if record_kind.model is model:
            record = record_kind.visible_to(user).filter(pk=attachment.object_id).first()
            if record is None:
                raise Http404
            return attachment, record_kind, record
    raise Http404

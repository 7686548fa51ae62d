"""Files attached to a record (customer, deal, ticket): the bytes live in the `attachments`
storage (encrypted on disk by default), the row says what they are and who may reach them —
anyone who may see the record, through the download view only."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.files.storage import Storage, storages
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def attachment_storage() -> Storage:
    """The configured storage (settings.STORAGES["attachments"]), looked up on each use (not
    bound to a model field at import time), so deployments and tests can swap it."""
    return storages["attachments"]


class Attachment(models.Model):
    class Source(models.TextChoices):
        UPLOAD = "upload", _("uploaded")
        EMAIL = "email", _("e-mail")

    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, related_name="+")
    object_id = models.PositiveBigIntegerField()
    record: Any = GenericForeignKey("content_type", "object_id")

    # The name in the attachments storage: random, never derived from the uploader's file name.
    stored_name = models.CharField(max_length=255, editable=False)
    name = models.CharField(_("name"), max_length=255)
    mime_type = models.CharField(_("type"), max_length=120)
    size = models.PositiveBigIntegerField(_("size"))
    source = models.CharField(
        _("source"), max_length=10, choices=Source.choices, default=Source.UPLOAD
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("added"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["content_type", "object_id", "-created_at"])]
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self) -> str:
        return self.name

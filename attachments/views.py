"""Attachment pages: add files to a record, download one, delete one. Every file is reached
through its record's visibility (404 otherwise) and never through a public URL."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from attachments.forms import AttachmentUploadForm
from attachments.selectors import ATTACHABLE_KINDS, attachment_visible_to, attachments_of
from attachments.services import (
    IncomingFile,
    attachment_delete,
    attachment_open,
    attachments_add,
)
from crm.records import visible_record
from crm.roles import ROLES, is_admin, is_manager
from crm.views import role_required


@role_required(*ROLES)
def attachment_upload(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    """GET: the upload page; POST: store the files, all or none, then back to the record."""
    if kind not in ATTACHABLE_KINDS:
        raise PermissionDenied
    record_kind, record = visible_record(request.user, kind, pk)
    form = AttachmentUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            added = attachments_add(
                record=record,
                files=[
                    IncomingFile(name=upload.name or "", content=upload, size=upload.size or 0)
                    for upload in form.cleaned_data["upload"]
                ],
                actor=request.user,  # type: ignore[arg-type]  # signed in: role_required
            )
        except ValidationError as error:
            form.add_error("upload", error)
        else:
            messages.success(
                request,
                ngettext("%(count)d file attached.", "%(count)d files attached.", len(added))
                % {"count": len(added)},
            )
            return HttpResponseRedirect(record_kind.url(record) + "#attachments")
    return render(
        request,
        "attachments/upload.html",
        {
            "form": form,
            "record": record,
            "record_kind": record_kind,
            "record_url": record_kind.url(record),
            "attachments": list(attachments_of(record)[:50]),
            "max_bytes": settings.CRM_ATTACHMENT_MAX_BYTES,
        },
        status=400 if request.method == "POST" else 200,
    )


@role_required(*ROLES)
def attachment_download(request: HttpRequest, pk: int) -> FileResponse:
    attachment, _kind, _record = attachment_visible_to(request.user, pk)
    response = FileResponse(
        attachment_open(attachment),
        as_attachment=True,
        filename=attachment.name,
        content_type=attachment.mime_type,
    )
    # Private to the signed-in user: no shared cache keeps a copy.
    response["Cache-Control"] = "private, no-store"
    return response


@require_POST
@role_required(*ROLES)
def attachment_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    attachment, record_kind, record = attachment_visible_to(request.user, pk)
    user = request.user
    if not (is_admin(user) or is_manager(user) or attachment.uploaded_by_id == user.pk):
        raise PermissionDenied
    attachment_delete(attachment=attachment)
    messages.success(request, _("“%(name)s” deleted.") % {"name": attachment.name})
    return HttpResponseRedirect(record_kind.url(record) + "#attachments")

"""In-app notifications and their e-mail copy.

A notification is written in the caller's transaction; its e-mail task goes through the outbox
(crm.outbox, sent after commit) so a rolled-back action never mails anyone, and the Celery task
(crm.tasks.notification_email_send) is idempotent through ``Notification.emailed_at``.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.models import Notification
from crm.outbox import tasks_send_on_commit

# Queued by name: crm.tasks imports services that notify, so importing it here would close an
# import cycle. CrmConfig.ready registers it in every process that publishes from the outbox.
NOTIFICATION_EMAIL_TASK = "crm.tasks.notification_email_send"


@dataclass(frozen=True)
class NotificationDraft:
    user: Any
    kind: str
    title: str
    body: str = ""
    link: str = ""


@transaction.atomic
def notifications_send(
    *, drafts: Iterable[NotificationDraft], send_email: bool = True
) -> list[Notification]:
    """Write many notifications in one insert; e-mail them after commit when asked."""
    drafts = list(drafts)
    for draft in drafts:
        if draft.kind not in Notification.Kind.values:
            raise ValidationError(
                {"kind": _("Unknown notification kind %(k)s.") % {"k": draft.kind}}
            )
        if not draft.title.strip():
            raise ValidationError({"title": _("A notification needs a title.")})
    now = timezone.now()
    created = Notification.objects.bulk_create(
        Notification(
            user=draft.user,
            kind=draft.kind,
            title=draft.title[:200],
            body=draft.body,
            link=draft.link,
            created_at=now,
        )
        for draft in drafts
    )
    if send_email:
        ids = [n.pk for n in created if n.pk is not None and n.user.email]
        if ids:
            tasks_send_on_commit(
                NOTIFICATION_EMAIL_TASK, [((), {"notification_id": pk}) for pk in ids]
            )
    return created


def notifications_create(
    *,
    users: Iterable[Any],
    kind: str,
    title: str,
    body: str = "",
    link: str = "",
    send_email: bool = True,
) -> list[Notification]:
    """The same notification for several users (duplicates collapsed)."""
    unique_users = {user.pk: user for user in users}
    return notifications_send(
        drafts=[
            NotificationDraft(user=user, kind=kind, title=title, body=body, link=link)
            for user in unique_users.values()
        ],
        send_email=send_email,
    )


def notification_create(
    *, user: Any, kind: str, title: str, body: str = "", link: str = "", send_email: bool = True
) -> Notification:
    return notifications_create(
        users=[user], kind=kind, title=title, body=body, link=link, send_email=send_email
    )[0]


@transaction.atomic
def notification_mark_read(*, notification: Notification) -> Notification:
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification


def notifications_mark_all_read(*, user: Any) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).update(
        read_at=timezone.now()
    )


@transaction.atomic
def notification_email_deliver(*, notification_id: int) -> bool:
    """Send a notification's e-mail once; True when a message went out."""
    notification = (
        Notification.objects.select_for_update()
        .select_related("user")
        .filter(pk=notification_id, emailed_at__isnull=True)
        .first()
    )
    if notification is None or not notification.user.email:
        return False
    body = notification.body
    if notification.link:
        body = f"{body}\n\n{notification.link}".strip()
    send_mail(
        subject=f"[Pulse CRM] {notification.title}",
        message=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[notification.user.email],
    )
    notification.emailed_at = timezone.now()
    notification.save(update_fields=["emailed_at"])
    return True

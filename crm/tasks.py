"""Celery tasks of the CRM shell: thin wrappers that load by id and call a service."""

from celery import shared_task

from crm.importing.uploads import uploads_expire
from crm.notifications import notification_email_deliver


@shared_task(
    autoretry_for=(OSError,), retry_backoff=True, max_retries=5, acks_late=True, expires=3600
)
def notification_email_send(*, notification_id: int) -> bool:
    """E-mail one notification; safe to retry (it never sends the same notification twice)."""
    return notification_email_deliver(notification_id=notification_id)


@shared_task(acks_late=True, expires=55 * 60)
def import_uploads_expire() -> int:
    """Beat (hourly, CELERY_BEAT_SCHEDULE): delete import uploads older than their TTL."""
    return uploads_expire()

"""The Celery application. Tasks run on Redis workers, or eagerly in-process without REDIS_URL."""

import os

from celery import Celery
from celery.signals import heartbeat_sent

from crm.heartbeats import WORKER_HEARTBEAT_KEY, heartbeat_record

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")

app = Celery("crm")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Task modules outside an app's tasks.py.
app.autodiscover_tasks(["crm.importing"])


@heartbeat_sent.connect
def _worker_heartbeat(sender: object, **kwargs: object) -> None:
    """The worker's event heartbeat (every 2 s) also tells /readyz that a worker is alive."""
    heartbeat_record(WORKER_HEARTBEAT_KEY)

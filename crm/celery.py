"""The Celery application. Tasks run on Redis workers, or eagerly in-process without REDIS_URL."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")

app = Celery("crm")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Task modules outside an app's tasks.py.
app.autodiscover_tasks(["crm.importing"])
app.autodiscover_tasks(["kpis"], related_name="report_tasks")

# mypy: disable-error-code="arg-type,attr-defined,misc"
"""The upload preview is a Celery task (issue 14, item 14): the upload request only stores the
file and queues the task; the page shows progress (htmx polling) until the task has read the
header and the first rows."""

import datetime as dt

import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from crm.importing.tasks import import_upload_preview, preview_key
from crm.importing.uploads import upload_get, uploads_expire
from crm.models import OutboxMessage
from tests.customers.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.importing.urls")]

ORDERS = b"Order number,Client\nO-1,C-1\nO-2,C-1\n"


@pytest.fixture
def upload(client, django_capture_on_commit_callbacks):
    """Upload a file without running the tasks queued on commit: no worker has run yet."""
    client.force_login(UserFactory(role="Manager"))
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(
            reverse("imports:upload"),
            {"kind": "orders", "file": SimpleUploadedFile("orders.csv", ORDERS)},
        )
    return response.url.rstrip("/").rsplit("/", 1)[1]


def test_the_upload_queues_the_preview_and_the_page_waits(client, upload):
    token = upload
    preview_url = reverse("imports:preview", args=[token])

    # the request stored the file and queued the task (through the outbox), nothing read yet
    row = OutboxMessage.objects.get()
    assert (row.task, row.args) == ("crm.importing.tasks.import_upload_preview", [token])
    page = client.get(preview_url).content.decode()
    assert "Waiting for a worker…" in page
    assert "Order number" not in page

    # the fragment polls the preview every second
    fragment = client.get(preview_url, HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-trigger="every 1s"' in fragment
    assert 'data-testid="preview-progress"' in fragment
    # polling does not queue the task again
    assert OutboxMessage.objects.count() == 1


def test_while_the_task_reads_the_page_says_so(client, upload):
    cache.set(preview_key(upload), {"state": "running"})

    fragment = client.get(reverse("imports:preview", args=[upload]), HTTP_HX_REQUEST="true")

    assert "Reading the file…" in fragment.content.decode()


def test_once_the_task_has_run_the_poll_reloads_and_the_page_shows_the_rows(client, upload):
    preview_url = reverse("imports:preview", args=[upload])

    state = import_upload_preview(upload)  # what the worker runs

    assert state == {
        "state": "done",
        "header": ["Order number", "Client"],
        "rows": [["O-1", "C-1"], ["O-2", "C-1"]],
        "error": "",
    }
    poll = client.get(preview_url, HTTP_HX_REQUEST="true")
    assert poll.status_code == 204
    assert poll["HX-Refresh"] == "true"
    page = client.get(preview_url).content.decode()
    assert "Order number" in page
    assert "O-2" in page


def test_an_expired_upload_is_the_previews_error(client, upload):
    uploads_expire(
        now=timezone.now() + dt.timedelta(hours=settings.CRM_IMPORT_UPLOAD_TTL_HOURS + 1)
    )

    state = import_upload_preview(upload)

    assert state["state"] == "failed"
    assert "expired" in state["error"]


def test_an_upload_is_found_without_the_cache(client, upload):
    """Its metadata lives beside the file: with the cache emptied (or Redis down) the upload
    and its owner are still known, so the preview page waits instead of answering 404."""
    cache.clear()

    found = upload_get(upload)
    assert found is not None
    assert found["name"].endswith(".csv")
    assert upload_get(upload, user_id=-1) is None
    assert client.get(reverse("imports:preview", args=[upload])).status_code == 200

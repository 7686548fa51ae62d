"""The import page: upload → preview (mapping editable) → dry run → commit, managers only."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase
from django.urls import reverse

from customers.models import Customer
from sales.models import Order
from tests.customers.factories import CustomerFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.importing.urls")]

ORDERS = b"Order number,Client,Date,Amount\nO-1,C-1,2024-03-05,10.00\nO-2,C-1,2024-03-06,20.00\n"


@pytest.fixture
def manager(client):
    user = UserFactory(role="Manager")
    client.force_login(user)
    return user


def _upload(client, content: bytes, kind: str = "orders", name: str = "orders.csv"):
    # The preview task is queued on commit (in-process without a broker): run it.
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(
            reverse("imports:upload"),
            {"kind": kind, "file": SimpleUploadedFile(name, content, content_type="text/csv")},
        )


def test_manager_uploads_maps_dry_runs_then_commits(
    client, manager, django_capture_on_commit_callbacks
):
    CustomerFactory(external_id="C-1")

    # the page lists the kinds and their columns
    page = client.get(reverse("imports:upload"))
    assert page.status_code == 200
    assert "ordered_at" in page.content.decode()

    # upload → redirected to the preview
    response = _upload(client, ORDERS)
    assert response.status_code == 302
    preview_url = response.url
    preview = client.get(preview_url)
    assert preview.status_code == 200
    # the headers are not our names: nothing required is matched yet, the first rows are shown
    assert b"Required columns not mapped:" in preview.content
    assert "O-2" in preview.content.decode()

    # the user maps the columns
    mapped = client.post(
        preview_url,
        {"map-0": "external_id", "map-1": "customer", "map-2": "ordered_at", "map-3": "total"},
    )
    assert b"Required columns not mapped:" not in mapped.content
    token = preview_url.rstrip("/").rsplit("/", 1)[1]
    run_url = reverse("imports:run", args=[token])

    # dry run: the task runs on commit (in-process without a broker) and writes nothing
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(run_url, {"action": "dry_run"})
    status = client.get(response.url)
    assert "Dry run: 2 of 2 rows would be imported" in status.content.decode()
    assert Order.objects.count() == 0
    assert b'data-testid="commit"' in client.get(preview_url).content

    # commit
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(run_url, {"action": "commit"})
    status = client.get(response.url)
    assert "Imported 2 of 2 rows (2 new, 0 updated)" in status.content.decode()
    assert set(Order.objects.values_list("external_id", flat=True)) == {"O-1", "O-2"}


def test_dry_run_shows_the_error_report(client, manager, django_capture_on_commit_callbacks):
    content = b"external_id,customer,ordered_at,total\nO-1,C-991,2024-03-05,-1\n"
    token = _upload(client, content).url.rstrip("/").rsplit("/", 1)[1]

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("imports:run", args=[token]), {"action": "dry_run"})
    page = client.get(response.url).content.decode()

    assert "unknown customer “C-991”" in page
    assert "must be ≥ 0, got -1" in page
    assert (
        'data-testid="commit"'
        not in client.get(reverse("imports:preview", args=[token])).content.decode()
    )


def test_progress_is_polled_while_running(client, manager):
    token = _upload(client, ORDERS).url.rstrip("/").rsplit("/", 1)[1]
    from django.core.cache import cache

    from crm.importing.uploads import progress_key

    cache.set(progress_key(token), {"state": "running", "rows": 2000, "fraction": 0.25})

    response = client.get(reverse("imports:status", args=[token]), HTTP_HX_REQUEST="true")

    page = response.content.decode()
    assert 'hx-trigger="every 1s"' in page
    assert "2000 rows read" in page
    assert "25 %" in page


def test_bad_file_type_is_refused_at_upload(client, manager):
    response = _upload(client, b"{}", name="orders.json")

    assert response.status_code == 200
    assert "Unsupported file type “.json”" in response.content.decode()


def test_a_sales_rep_is_refused(client):
    client.force_login(UserFactory(role="Sales rep"))

    assert client.get(reverse("imports:upload")).status_code == 403
    assert _upload(client, ORDERS).status_code == 403
    assert Customer.objects.count() == 0


def test_anonymous_users_go_to_login(client):
    response = client.get(reverse("imports:upload"))

    assert response.status_code == 302
    assert "/login/" in response.url


def test_another_users_upload_is_not_found(client, manager):
    token = _upload(client, ORDERS).url.rstrip("/").rsplit("/", 1)[1]
    client.force_login(UserFactory(role="Manager"))

    assert client.get(reverse("imports:preview", args=[token])).status_code == 404


def test_csrf_is_required(manager):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(manager)

    assert _upload(strict, ORDERS).status_code == 403


def test_changing_the_mapping_requires_a_new_dry_run(
    client, manager, django_capture_on_commit_callbacks
):
    CustomerFactory(external_id="C-1")
    content = b"external_id,customer,ordered_at,total\nO-1,C-1,2024-03-05,1\n"
    token = _upload(client, content).url.rstrip("/").rsplit("/", 1)[1]
    preview_url = reverse("imports:preview", args=[token])
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("imports:run", args=[token]), {"action": "dry_run"})
    assert b'data-testid="commit"' in client.get(preview_url).content

    page = client.post(preview_url, {"map-3": ""})  # ignore the total column

    assert b'data-testid="commit"' not in page.content

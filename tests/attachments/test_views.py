"""Upload, download and delete pages: record visibility (404), anonymous refused, messages."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from attachments.models import Attachment
from attachments.services import IncomingFile, attachments_add
from crm.roles import SALES_REP, SUPPORT_AGENT
from tests.attachments.conftest import PDF, PNG, stored_files
from tests.customers.factories import CustomerFactory, TeamFactory, UserFactory
from tests.sales.factories import OpportunityFactory
from tests.support.factories import TicketFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def team():
    return TeamFactory()


@pytest.fixture
def rep(client, team):
    user = UserFactory(role=SALES_REP)
    team.members.add(user)
    client.force_login(user)
    return user


def upload_url(kind, record):
    return reverse("attachments:upload", args=[kind, record.pk])


def test_a_rep_uploads_several_files_at_once_to_a_customer(client, rep, team):
    customer = CustomerFactory(team=team)

    response = client.post(
        upload_url("customer", customer),
        {
            "upload": [
                SimpleUploadedFile("offer.pdf", PDF, content_type="application/pdf"),
                SimpleUploadedFile("photo.png", PNG, content_type="image/png"),
            ]
        },
    )

    assert response.status_code == 302
    assert response.url == reverse("customers:detail", args=[customer.pk]) + "#attachments"
    added = Attachment.objects.order_by("name")
    assert [(a.name, a.uploaded_by_id) for a in added] == [
        ("offer.pdf", rep.pk),
        ("photo.png", rep.pk),
    ]
    page = client.get(response.url)
    assert b"offer.pdf" in page.content
    assert b"photo.png" in page.content


def test_a_deal_takes_files_too(client, rep, team):
    deal = OpportunityFactory(team=team, owner=rep)

    response = client.post(
        upload_url("deal", deal), {"upload": [SimpleUploadedFile("terms.pdf", PDF)]}
    )

    assert response.status_code == 302
    assert response.url.startswith(reverse("sales:opportunity_detail", args=[deal.pk]))
    assert Attachment.objects.get().name == "terms.pdf"


def test_oversize_file_is_refused_with_a_message_and_nothing_is_stored(
    client, rep, team, settings, attachment_storage_dir
):
    settings.CRM_ATTACHMENT_MAX_BYTES = 50
    customer = CustomerFactory(team=team)

    response = client.post(
        upload_url("customer", customer),
        {"upload": [SimpleUploadedFile("small.txt", b"fine"), SimpleUploadedFile("big.pdf", PDF)]},
    )

    assert response.status_code == 400
    assert "“big.pdf” is" in response.content.decode()
    assert "files up to 50" in response.content.decode()
    assert not Attachment.objects.exists()
    assert stored_files(attachment_storage_dir) == []


def test_a_disallowed_type_is_refused_whatever_the_browser_claims(
    client, rep, team, attachment_storage_dir
):
    customer = CustomerFactory(team=team)
    program = SimpleUploadedFile("setup.pdf", b"MZ" + b"\x00" * 200, content_type="application/pdf")

    response = client.post(upload_url("customer", customer), {"upload": [program]})

    assert response.status_code == 400
    assert "“setup.pdf” is not a file type we accept" in response.content.decode()
    assert not Attachment.objects.exists()
    assert stored_files(attachment_storage_dir) == []


def test_an_agent_downloads_a_ticket_file(client, team):
    agent = UserFactory(role=SUPPORT_AGENT)
    team.members.add(agent)
    ticket = TicketFactory(team=team)
    (attachment,) = attachments_add(
        record=ticket, files=[IncomingFile.from_bytes("log.pdf", PDF)], actor=None
    )
    client.force_login(agent)

    response = client.get(reverse("attachments:download", args=[attachment.pk]))

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="log.pdf"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response["Cache-Control"]


def test_another_teams_file_is_a_404_for_download_upload_and_delete(client, rep):
    stranger_customer = CustomerFactory(team=TeamFactory())
    (attachment,) = attachments_add(
        record=stranger_customer, files=[IncomingFile.from_bytes("secret.pdf", PDF)], actor=None
    )

    download = client.get(reverse("attachments:download", args=[attachment.pk]))
    upload = client.post(
        upload_url("customer", stranger_customer), {"upload": [SimpleUploadedFile("x.pdf", PDF)]}
    )
    delete = client.post(reverse("attachments:delete", args=[attachment.pk]))

    assert (download.status_code, upload.status_code, delete.status_code) == (404, 404, 404)
    assert list(Attachment.objects.values_list("name", flat=True)) == ["secret.pdf"]


def test_without_a_session_the_file_url_is_refused(client):
    (attachment,) = attachments_add(
        record=CustomerFactory(), files=[IncomingFile.from_bytes("a.pdf", PDF)], actor=None
    )

    response = client.get(reverse("attachments:download", args=[attachment.pk]))

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_the_uploader_deletes_their_file_and_it_leaves_the_disk(
    client, rep, team, attachment_storage_dir, django_capture_on_commit_callbacks
):
    customer = CustomerFactory(team=team)
    (mine,) = attachments_add(
        record=customer, files=[IncomingFile.from_bytes("mine.pdf", PDF)], actor=rep
    )
    (theirs,) = attachments_add(
        record=customer, files=[IncomingFile.from_bytes("theirs.pdf", PDF)], actor=UserFactory()
    )

    with django_capture_on_commit_callbacks(execute=True):
        refused = client.post(reverse("attachments:delete", args=[theirs.pk]))
        deleted = client.post(reverse("attachments:delete", args=[mine.pk]))

    assert refused.status_code == 403
    assert deleted.status_code == 302
    assert list(Attachment.objects.values_list("name", flat=True)) == ["theirs.pdf"]
    assert len(stored_files(attachment_storage_dir)) == 1


def test_the_record_page_shows_the_files_in_a_bounded_number_of_queries(
    client, rep, team, django_assert_max_num_queries
):
    ticket = TicketFactory(team=team, customer=CustomerFactory(team=team))
    uploaders = [UserFactory() for _ in range(3)]
    for number in range(12):
        attachments_add(
            record=ticket,
            files=[IncomingFile.from_bytes(f"file{number}.pdf", PDF)],
            actor=uploaders[number % 3],
        )

    with django_assert_max_num_queries(40):
        response = client.get(reverse("support:ticket_detail", args=[ticket.pk]))

    assert response.status_code == 200
    assert response.content.decode().count('data-testid="attachment"') == 12


def test_the_upload_page_adds_no_queries_per_file(client, rep, team):
    customer = CustomerFactory(team=team)

    def post(count):
        return client.post(
            upload_url("customer", customer),
            {"upload": [SimpleUploadedFile(f"f{n}.pdf", PDF) for n in range(count)]},
        )

    with CaptureQueriesContext(connection) as one:
        post(1)
    with CaptureQueriesContext(connection) as five:
        post(5)

    assert len(five.captured_queries) == len(one.captured_queries)
    assert Attachment.objects.count() == 6

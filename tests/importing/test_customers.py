"""Customers import: relations by name, code, e-mail and external id; idempotent re-import."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from customers.models import Customer
from tests.customers.factories import (
    ChannelFactory,
    CustomerFactory,
    SegmentFactory,
    TeamFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db
BERLIN = ZoneInfo("Europe/Berlin")
HEADER = [
    "external_id",
    "name",
    "kind",
    "email",
    "owner",
    "team",
    "channel",
    "segment",
    "referred_by",
    "acquired_at",
    "created_at",
]


def test_relations_resolve_by_name_code_username_and_external_id(write_csv, import_data):
    team = TeamFactory(name="North")
    channel = ChannelFactory(code="referral", name="Referral")
    segment = SegmentFactory(code="smb", name="SMB")
    owner = UserFactory(username="rita", email="rita@pulse.test")
    CustomerFactory(external_id="C-0")
    path = write_csv(
        "customers.csv",
        [
            HEADER,
            [
                "C-1",
                "Acme",
                "company",
                "a@acme.test",
                "rita",
                "north",
                "referral",
                "SMB",
                "C-0",
                "2024-02-01",
                "2024-01-15",
            ],
            [
                "C-2",
                "Bea",
                "person",
                "",
                "RITA@pulse.test",
                "North",
                "Referral",
                "smb",
                "C-1",
                "",
                "",
            ],
        ],
    )

    result = import_data("customers", path)

    assert result.ok, result.err
    acme = Customer.objects.get(external_id="C-1")
    bea = Customer.objects.get(external_id="C-2")
    assert (acme.team_id, acme.channel_id, acme.segment_id, acme.owner_id) == (
        team.pk,
        channel.pk,
        segment.pk,
        owner.pk,
    )
    assert acme.referred_by is not None
    assert acme.referred_by.external_id == "C-0"
    # a referrer on an earlier line of the same file counts
    assert bea.referred_by_id == acme.pk
    assert bea.owner_id == owner.pk
    assert acme.acquired_at == dt.datetime(2024, 2, 1, tzinfo=BERLIN)
    assert acme.status == Customer.Status.ACTIVE  # acquired → active
    assert bea.status == Customer.Status.PROSPECT


def test_unknown_relations_are_reported(write_csv, import_data):
    path = write_csv(
        "customers.csv",
        [
            HEADER,
            [
                "C-1",
                "Acme",
                "shop",
                "not-an-email",
                "nobody",
                "South",
                "tv",
                "xl",
                "C-404",
                "2024-13-01",
                "",
            ],
        ],
    )

    result = import_data("customers", path)

    assert not result.ok
    for expected in (
        "line 2, column kind: unknown value “shop” (allowed: company, person)",
        "line 2, column email: invalid e-mail address “not-an-email”",
        "line 2, column owner: unknown user “nobody”",
        "line 2, column team: unknown team “South”",
        "line 2, column channel: unknown channel “tv”",
        "line 2, column segment: unknown segment “xl”",
        "line 2, column referred_by: unknown customer “C-404”",
        "line 2, column acquired_at: unparseable date “2024-13-01”",
    ):
        assert expected in result.err
    assert Customer.objects.count() == 0


def test_reimport_updates_only_the_columns_in_the_file(write_csv, import_data):
    # given an existing customer acquired by an order in 2023, with a phone number
    customer = CustomerFactory(
        external_id="C-1",
        name="Old name",
        phone="+49 1",
        status="active",
        acquired_at=dt.datetime(2023, 5, 1, tzinfo=BERLIN),
    )
    path = write_csv(
        "customers.csv", [["external_id", "name", "acquired_at"], ["C-1", "New name", "2024-01-01"]]
    )

    assert import_data("customers", path).ok
    assert import_data("customers", path).ok

    customer.refresh_from_db()
    assert customer.name == "New name"
    assert customer.phone == "+49 1"  # no phone column: untouched
    # acquisition stays the earliest known date
    assert customer.acquired_at == dt.datetime(2023, 5, 1, tzinfo=BERLIN)
    assert Customer.objects.count() == 1

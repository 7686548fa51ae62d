# factory_boy types `SomeFactory()` as the factory, not the model it builds (project-wide).
# mypy: disable-error-code="arg-type,attr-defined,misc"
import datetime as dt

import pytest

from customers.filters import CustomerFilter
from customers.models import Customer
from tests.customers.factories import CustomerFactory, SegmentFactory

pytestmark = pytest.mark.django_db


def _names(params):
    return set(
        CustomerFilter(params, queryset=Customer.objects.all()).qs.values_list("name", flat=True)
    )


def test_q_searches_name_substring_and_whole_email_phone_and_external_id():
    CustomerFactory(name="Acme", email="x@one.test")
    CustomerFactory(name="Other", email="billing@acme.test")
    CustomerFactory(name="Phone", phone="+49 30 555")
    CustomerFactory(name="Ext", external_id="ERP-77")
    CustomerFactory(name="Nothing")

    # E-mail and phone are encrypted: a part of them no longer matches, the whole value does
    # (e-mail in any case, phone with or without separators).
    assert _names({"q": "acme"}) == {"Acme"}
    assert _names({"q": "Billing@ACME.test "}) == {"Other"}
    assert _names({"q": "30 555"}) == set()
    assert _names({"q": "+49-30-555"}) == {"Phone"}
    assert _names({"q": "erp-77"}) == {"Ext"}


def test_email_and_phone_filters_match_whole_values_only():
    CustomerFactory(name="Mail", email="a.b@corp.test", phone="")
    CustomerFactory(name="Call", email="", phone="(030) 12 34")

    assert _names({"email": "A.B@corp.test"}) == {"Mail"}
    assert _names({"email": "corp.test"}) == set()
    assert _names({"phone": "030/1234"}) == {"Call"}
    assert _names({"phone": "1234"}) == set()


def test_acquired_at_range_includes_both_days():
    day = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)
    CustomerFactory(name="before", acquired_at=day - dt.timedelta(days=2))
    CustomerFactory(name="first day", acquired_at=day)
    CustomerFactory(name="last day", acquired_at=day + dt.timedelta(days=5))
    CustomerFactory(name="never")

    params = {"acquired_at_after": "2026-03-10", "acquired_at_before": "2026-03-15"}

    assert _names(params) == {"first day", "last day"}


def test_segment_status_and_band_combine():
    segment = SegmentFactory()
    CustomerFactory(name="match", segment=segment, status="active", health_band="red")
    CustomerFactory(name="other band", segment=segment, status="active", health_band="green")
    CustomerFactory(name="other segment", status="active", health_band="red")

    assert _names({"segment": segment.pk, "status": "active", "health_band": "red"}) == {"match"}


def test_an_invalid_choice_makes_the_filter_invalid():
    assert not CustomerFilter({"status": "zombie"}, queryset=Customer.objects.all()).is_valid()

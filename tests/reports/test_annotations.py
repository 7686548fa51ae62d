"""Annotations: the create service refuses bad input; annotations_for returns what overlaps."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from reports.annotations import annotations_for
from reports.models import Annotation
from reports.services import annotation_create
from tests.reports.conftest import MARCH

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("at_send_time")]


def test_a_note_on_a_kpi_period_covers_that_period(people):
    note = annotation_create(
        text="  Price list 2026  ",
        kind="price_change",
        kpi="revenue",
        granularity="month",
        period_start=MARCH,
        actor=people["manager"],
    )

    assert (note.starts_on, note.ends_on) == (MARCH, dt.date(2026, 3, 31))
    assert note.text == "Price list 2026"
    assert note.created_by == people["manager"]


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"text": "   "}, "text", "An annotation needs a text."),
        ({"kpi": "happiness"}, "kpi", "Unknown KPI happiness."),
        ({"period_start": dt.date(2026, 3, 2)}, "period_start", "is not the start of a month"),
        ({"period_start": dt.date(2026, 5, 1)}, "period_start", "is in the future"),
        ({"granularity": "fortnight"}, "granularity", "Unknown granularity fortnight"),
    ],
)
def test_bad_annotations_are_refused_with_a_clear_message(people, fields, field, message):
    arguments = {
        "text": "Outage",
        "kpi": "revenue",
        "granularity": "month",
        "period_start": MARCH,
        "actor": people["manager"],
    } | fields

    with pytest.raises(ValidationError) as error:
        annotation_create(**arguments)

    assert message in error.value.message_dict[field][0]
    assert not Annotation.objects.exists()


def test_a_date_range_in_the_future_is_refused(people):
    with pytest.raises(ValidationError) as error:
        annotation_create(
            text="Summer sale",
            starts_on=dt.date(2026, 6, 1),
            ends_on=dt.date(2026, 6, 30),
            actor=people["manager"],
        )

    assert "is in the future" in error.value.message_dict["starts_on"][0]


def test_only_managers_annotate(people):
    with pytest.raises(PermissionDenied):
        annotation_create(text="Mine", starts_on=MARCH, ends_on=MARCH, actor=people["ann"])


def test_annotations_for_returns_what_overlaps_the_range(people):
    manager = people["manager"]
    outage = annotation_create(
        text="Outage",
        kind="outage",
        starts_on=dt.date(2026, 2, 27),
        ends_on=dt.date(2026, 3, 1),
        actor=manager,
    )
    revenue_note = annotation_create(
        text="Price", kpi="revenue", granularity="month", period_start=MARCH, actor=manager
    )
    annotation_create(
        text="Other KPI", kpi="orders", granularity="month", period_start=MARCH, actor=manager
    )
    annotation_create(
        text="Weekly note",
        kpi="revenue",
        granularity="week",
        period_start=dt.date(2026, 3, 2),
        actor=manager,
    )
    annotation_create(
        text="Before", starts_on=dt.date(2026, 1, 1), ends_on=dt.date(2026, 2, 26), actor=manager
    )

    found = list(annotations_for("revenue", "month", MARCH, dt.date(2026, 4, 1)))

    # the outage's last day (1 March) is inside March; the week note is for weekly charts
    assert found == [outage, revenue_note]
    assert len(annotations_for(None, "month", MARCH, dt.date(2026, 4, 1))) == 4

"""Lifecycle states and the cohort retention matrix (catalogue §1, §2 Retention)."""

import dataclasses
import datetime as dt

import pytest

from customers.models import Customer
from kpis.activity import (
    ActivityRules,
    active_customers_at,
    active_during_q,
    churned_at_q,
    cohort_retention_matrix,
    lifecycle_counts,
    lifecycle_status_at,
    reactivated_in_q,
    retained_q,
)
from kpis.periods import to_datetime_range
from tests.kpis.conftest import buyer, customer, local
from tests.sales.factories import OrderFactory

pytestmark = pytest.mark.django_db


def test_lifecycle_counts_for_march_against_february():
    buyer(local(2026, 3, 5))  # new
    buyer(local(2026, 1, 10), local(2026, 3, 10))  # returning (active in Feb and Mar)
    buyer(local(2025, 6, 1), local(2026, 3, 12))  # resurrecting (lapsed Aug 2025)
    # dormant: a contract customer whose contract ended Feb 20 (active in Feb, not in March)
    dormant = buyer(local(2025, 10, 1))
    dormant.contract_end_date = dt.date(2026, 2, 20)
    dormant.save()
    feb_start, march_start = to_datetime_range(dt.date(2026, 2, 1), dt.date(2026, 3, 1))
    _start, april_start = to_datetime_range(dt.date(2026, 3, 1), dt.date(2026, 4, 1))

    counts = lifecycle_counts(march_start, april_start, feb_start, ActivityRules.load())

    assert counts == {"new": 1, "returning": 1, "resurrecting": 1, "dormant": 1}


def test_cohort_retention_matrix_leaves_immature_cells_blank():
    # January cohort: two customers; one orders again in March, one's contract ends Jan 31
    buyer(local(2026, 1, 5), local(2026, 3, 20))
    ended = buyer(local(2026, 1, 6))
    ended.contract_end_date = dt.date(2026, 1, 31)
    ended.save()
    buyer(local(2026, 2, 10))  # February cohort of one

    matrix = cohort_retention_matrix(
        dt.date(2026, 1, 1), 6, ActivityRules.load(), now=dt.datetime(2026, 4, 15, tzinfo=dt.UTC)
    )

    january, february = matrix[0], matrix[1]
    assert (january.cohort, january.size) == (dt.date(2026, 1, 1), 2)
    # Jan 2/2, Feb 1/2, Mar 1/2; April has not ended at Apr 15 → None, and later months None
    assert january.cells == [1.0, 0.5, 0.5, None, None, None]
    assert february.cells[:3] == [1.0, 1.0, None]
    assert matrix[3].size == 0
    assert matrix[3].cells == [None, None, None]


# --- each lifecycle state and each matrix cell by its own count (mutation survivors) -----------


def test_lifecycle_counts_tell_each_state_apart_by_its_own_count():
    # Distinct counts, so a state computed with another state's rule shows: 1, 2, 3, 4.
    buyer(local(2026, 3, 5))  # 1 new
    buyer(local(2026, 1, 10), local(2026, 3, 10))  # 2 returning: active in Feb and in Mar
    buyer(local(2026, 1, 15), local(2026, 3, 11))
    for day in (1, 2, 3):  # 3 resurrecting: last order June 2025, lapsed by Sep 2025 (d = 90)
        buyer(local(2025, 6, day), local(2026, 3, 12))
    for _ in range(4):  # 4 dormant: contract ended Feb 20, so active in Feb and not in Mar
        customer(local(2025, 10, 1), contract_end_date=dt.date(2026, 2, 20))
    feb_start, march_start = to_datetime_range(dt.date(2026, 2, 1), dt.date(2026, 3, 1))
    _start, april_start = to_datetime_range(dt.date(2026, 3, 1), dt.date(2026, 4, 1))

    counts = lifecycle_counts(march_start, april_start, feb_start, ActivityRules.load())

    assert counts == {"new": 1, "returning": 2, "resurrecting": 3, "dormant": 4}


def test_an_order_before_a_later_explicit_churn_is_activity_but_not_a_reactivation():
    # Contract ended Feb 28 (so not active at Mar 1); ordered Mar 10; churned explicitly Mar 20.
    person = customer(
        local(2025, 10, 1),
        contract_end_date=dt.date(2026, 2, 28),
        churned_at=local(2026, 3, 20),
    )
    OrderFactory.create(customer=person, ordered_at=local(2026, 3, 10))
    start, end = to_datetime_range(dt.date(2026, 3, 1), dt.date(2026, 4, 1))
    rules = ActivityRules.load()
    people = Customer.objects.filter(pk=person.pk)

    # Any countable order in March makes the customer active during March …
    assert people.filter(active_during_q(start, end, rules)).exists()
    # … but only an order after the explicit churn (Mar 20) reactivates: Mar 10 does not.
    assert people.filter(churned_at_q(start, rules)).exists()
    assert not people.filter(reactivated_in_q(start, end, rules)).exists()


def test_retained_means_active_at_both_ends_of_the_period():
    kept = buyer(local(2026, 1, 10))  # active until Apr 10: at Mar 1 and at Apr 1
    buyer(local(2025, 12, 10))  # active until Mar 10: at Mar 1, not at Apr 1
    buyer(local(2026, 3, 15))  # acquired in March: not active at Mar 1
    start, end = to_datetime_range(dt.date(2026, 3, 1), dt.date(2026, 4, 1))

    retained = Customer.objects.filter(retained_q(start, end, ActivityRules.load()))

    assert list(retained) == [kept]


def test_active_customers_at_loads_the_rules_itself():
    active = buyer(local(2026, 3, 10))  # 22 days before Apr 1, within d = 90
    buyer(local(2025, 6, 1))  # lapsed

    assert list(active_customers_at(local(2026, 4, 1, 0))) == [active]


def test_the_status_a_person_reads_is_prospect_active_or_churned_by_the_activity_rule():
    at = local(2026, 4, 1, 0)
    never = customer(None)
    later = customer(local(2026, 4, 5))
    active = buyer(local(2026, 3, 10))
    lapsed = buyer(local(2025, 6, 1))

    statuses = dict(
        Customer.objects.annotate(
            status_now=lifecycle_status_at(at, ActivityRules.load())
        ).values_list("pk", "status_now")
    )

    assert statuses == {
        never.pk: "prospect",  # not acquired
        later.pk: "prospect",  # acquired after `at`
        active.pk: "active",
        lapsed.pk: "churned",
    }


def test_a_month_ending_exactly_now_is_mature_and_later_months_are_not_queried(
    django_assert_num_queries,
):
    # January cohort of 3: one orders again in February, two contracts end in January.
    buyer(local(2026, 1, 5), local(2026, 2, 10))
    customer(local(2026, 1, 6), contract_end_date=dt.date(2026, 1, 20))
    customer(local(2026, 1, 7), contract_end_date=dt.date(2026, 1, 25))
    rules = ActivityRules.load()
    _feb, march_start = to_datetime_range(dt.date(2026, 2, 1), dt.date(2026, 3, 1))

    # One query for the cohort sizes and one per mature month (January, February): 3.
    with django_assert_num_queries(3):
        matrix = cohort_retention_matrix(dt.date(2026, 1, 1), 3, rules, now=march_start)

    # February ends exactly at `now`: it has ended, so its cell is a figure, 1 of 3 → 0.3333
    # (four places); March has not ended → None.
    assert matrix[0].cells == [1.0, 0.3333, None]


def test_the_last_month_cohort_is_sized_and_a_mature_cell_with_nobody_active_is_zero():
    buyer(local(2026, 1, 5))  # January cohort of 1, active Jan–Mar (d = 90)
    customer(local(2026, 2, 3), contract_end_date=dt.date(2026, 2, 10))  # Feb only
    buyer(local(2026, 3, 10))  # March cohort: the last month of the matrix

    matrix = cohort_retention_matrix(
        dt.date(2026, 1, 1), 3, ActivityRules.load(), now=local(2026, 4, 15)
    )

    assert [row.size for row in matrix] == [1, 1, 1]
    # February's customer is active in February (1 of 1) and nobody of it in March: 0.0, not n/a.
    assert matrix[1].cells == [1.0, 0.0]
    assert matrix[2].cells == [1.0]


def test_activity_rules_are_a_value_that_cannot_be_changed_in_place():
    rules = ActivityRules.load()

    with pytest.raises(dataclasses.FrozenInstanceError):
        rules.default_days = 1  # type: ignore[misc]
    row = cohort_retention_matrix(dt.date(2026, 1, 1), 1, rules, now=local(2026, 4, 15))[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        row.size = 1  # type: ignore[misc]

"""Lifecycle states and the cohort retention matrix (catalogue §1, §2 Retention)."""

import datetime as dt

import pytest

from kpis.activity import ActivityRules, cohort_retention_matrix, lifecycle_counts
from kpis.periods import to_datetime_range
from tests.kpis.conftest import buyer, local

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

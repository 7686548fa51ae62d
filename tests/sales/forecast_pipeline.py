"""A small pipeline over January–March 2026 with its forecast snapshots, for the forecast and
forecast-KPI tests. Every figure the tests expect is worked out in the comments here.

Teams North (rep Ada) and South (rep Bo). Stages: qualify 0.25, propose 0.5, negotiate 0.8.

January (snapshot at Jan 1):
  D1 Ada/North 10,000 × 0.5  commit     close Jan 20 → won Jan 20
  D2 Ada/North  4,000 × 0.25 best case  close Jan 25 → lost
  D3 Bo/South   6,000 × 0.5  pipeline   close Jan 15 → won Jan 15
  D4 Bo/South   2,000 × 0.25 pipeline   no close date → excluded (undated), never closes
  D5 Bo/South   8,000 × 0.5  commit     close Feb 10 → not January's (February's deal)
  weighted: North 5,000 + 1,000 = 6,000; South 3,000; all 9,000
  best case (best case + commit): North 14,000, South 0, all 14,000; commit: North 10,000
  won: North 10,000, South 6,000, all 16,000
February (snapshot at Feb 1):
  D5 Bo/South   8,000 × 0.5  commit     close Feb 10 → won Feb 12
  D6 Ada/North  5,000 × 0.8  commit     close Feb 20 → lost
  D7 Ada/North  3,000        created Feb 5 (after the snapshot) → won Feb 15
  weighted: North 4,000, South 4,000, all 8,000; commit: 13,000
  won: North 3,000, South 8,000, all 11,000
March (snapshot at Mar 1):
  D8 Ada/North  2,000 × 0.5  pipeline   close Mar 10 → lost
  D9 Bo/South  10,000 × 0.25 best case  close Mar 20 → lost
  weighted: North 1,000, South 2,500, all 3,500; nothing won
Q1 (snapshot at Jan 1, deals closing Jan 1–Mar 31): D1, D2, D3, D5
  weighted 5,000 + 1,000 + 3,000 + 4,000 = 13,000; won in Q1 16,000 + 11,000 = 27,000
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings

from customers.models import Team
from sales.models import Opportunity
from sales.services import forecast_snapshot_take, opportunity_create, opportunity_move_stage
from tests.customers.factories import CustomerFactory, TeamFactory, UserFactory
from tests.sales.factories import PipelineStageFactory


def local(year: int, month: int, day: int, hour: int = 9, minute: int = 0) -> dt.datetime:
    """An aware datetime in the organisation's time zone."""
    return dt.datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(settings.CRM_TIME_ZONE))


@dataclass
class ForecastWorld:
    north: Team
    south: Team
    ada: object
    bo: object
    manager: object
    deals: dict[str, Opportunity]


def stages() -> dict[str, Any]:
    return {
        "qualify": PipelineStageFactory(code="qualify", position=1, probability=Decimal("0.25")),
        "propose": PipelineStageFactory(code="propose", position=2, probability=Decimal("0.5")),
        "negotiate": PipelineStageFactory(code="negotiate", position=3, probability=Decimal("0.8")),
        "won": PipelineStageFactory(code="won", position=8, probability=1, is_won=True),
        "lost": PipelineStageFactory(code="lost", position=9, probability=0, is_lost=True),
    }


def build_forecast_world() -> ForecastWorld:
    """The deals, moves and snapshots above; snapshots taken through the service as the beat
    would at each period start (month, and the quarter on Jan 1)."""
    stage = stages()
    north, south = TeamFactory(name="North"), TeamFactory(name="South")
    ada = UserFactory(username="ada", first_name="Ada", last_name="North", role="Sales rep")
    bo = UserFactory(username="bo", first_name="Bo", last_name="South", role="Sales rep")
    manager = UserFactory(username="nora", role="Manager")
    north.members.add(ada)
    south.members.add(bo)
    north.manager = manager
    north.save()
    people = {"ada": (ada, north), "bo": (bo, south)}
    customer = CustomerFactory(name="Acme")
    deals: dict[str, Opportunity] = {}

    def deal(key, who, amount, stage_code, category, close, created):
        owner, team = people[who]
        deals[key] = opportunity_create(
            customer=customer,
            name=key,
            amount=Decimal(amount),
            stage=stage[stage_code],
            owner=owner,
            team=team,
            forecast_category=category,
            expected_close_date=close,
            created_at=created,
        )

    def close(key, stage_code, at):
        deals[key] = opportunity_move_stage(
            opportunity=deals[key], to_stage=stage[stage_code], at=at
        )

    december = local(2025, 12, 1)
    deal("D1", "ada", "10000", "propose", "commit", dt.date(2026, 1, 20), december)
    deal("D2", "ada", "4000", "qualify", "best_case", dt.date(2026, 1, 25), december)
    deal("D3", "bo", "6000", "propose", "pipeline", dt.date(2026, 1, 15), december)
    deal("D4", "bo", "2000", "qualify", "pipeline", None, december)
    deal("D5", "bo", "8000", "propose", "commit", dt.date(2026, 2, 10), december)
    forecast_snapshot_take(granularity="month", now=local(2026, 1, 1, 0))
    forecast_snapshot_take(granularity="quarter", now=local(2026, 1, 1, 0))
    close("D1", "won", local(2026, 1, 20))
    close("D2", "lost", local(2026, 1, 26))
    close("D3", "won", local(2026, 1, 15))

    deal("D6", "ada", "5000", "negotiate", "commit", dt.date(2026, 2, 20), local(2026, 1, 25))
    forecast_snapshot_take(granularity="month", now=local(2026, 2, 1, 0))
    deal("D7", "ada", "3000", "propose", "pipeline", dt.date(2026, 2, 15), local(2026, 2, 5))
    close("D5", "won", local(2026, 2, 12))
    close("D6", "lost", local(2026, 2, 21))
    close("D7", "won", local(2026, 2, 15))

    deal("D8", "ada", "2000", "propose", "pipeline", dt.date(2026, 3, 10), local(2026, 2, 20))
    deal("D9", "bo", "10000", "qualify", "best_case", dt.date(2026, 3, 20), local(2026, 2, 20))
    forecast_snapshot_take(granularity="month", now=local(2026, 3, 1, 0))
    close("D8", "lost", local(2026, 3, 11))
    close("D9", "lost", local(2026, 3, 21))
    return ForecastWorld(north, south, ada, bo, manager, deals)

import csv
import datetime as dt
import io
from collections.abc import Callable
from pathlib import Path

import pytest
from django.core.management import call_command

CDNOW = Path(__file__).parent / "fixtures" / "cdnow" / "CDNOW_sample.txt"
CDNOW_CALIBRATION_END = dt.date(1997, 9, 30)


def cdnow_csv_files(directory: Path) -> tuple[Path, Path]:
    """The CDNOW sample as the `customers` and `orders` CSV files `import_data` reads.

    One order per line of the file (several on one day stay separate orders: the models' summary
    must sum them into one transaction).
    """
    customers: dict[str, None] = {}
    orders = [["external_id", "customer", "ordered_at", "total"]]
    for number, line in enumerate(CDNOW.read_text().splitlines(), start=1):
        _master, customer, day, _cds, dollars = line.split()
        customers.setdefault(customer)
        ordered = dt.date(int(day[:4]), int(day[4:6]), int(day[6:]))
        orders.append([f"CD-{number}", f"C{customer}", ordered.isoformat(), dollars])
    customer_path, order_path = directory / "customers.csv", directory / "orders.csv"
    for path, rows in (
        (customer_path, [["external_id", "name"]] + [[f"C{c}", f"CDNOW {c}"] for c in customers]),
        (order_path, orders),
    ):
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows(rows)
        path.write_text(buffer.getvalue(), encoding="utf-8")
    return customer_path, order_path


@pytest.fixture
def cdnow_imported(tmp_path: Path) -> None:
    """The CDNOW sample loaded through `manage.py import_data` (customers, then orders)."""
    customer_path, order_path = cdnow_csv_files(tmp_path)
    for kind, path in (("customers", customer_path), ("orders", order_path)):
        call_command("import_data", kind, str(path), "--no-kpi-refresh", stdout=io.StringIO())


@pytest.fixture
def run_predict() -> Callable[..., str]:
    """`manage.py predict ...`; returns stdout (a CommandError propagates)."""

    def run(*args: str) -> str:
        out = io.StringIO()
        call_command("predict", *args, stdout=out)
        return out.getvalue()

    return run


AS_OF = dt.date(2026, 6, 30)


def local_noon(day: dt.date, hour: int = 12) -> dt.datetime:
    from zoneinfo import ZoneInfo

    from django.conf import settings

    return dt.datetime.combine(day, dt.time(hour), tzinfo=ZoneInfo(settings.CRM_TIME_ZONE))


def buy(customer, *days: dt.date, total: str = "100.00", **fields):
    """One order of `total` at local noon of each day; returns the orders."""
    from decimal import Decimal

    from tests.sales.factories import OrderFactory

    return [
        OrderFactory.create(
            customer=customer, ordered_at=local_noon(day), total=Decimal(total), **fields
        )
        for day in days
    ]


@pytest.fixture
def published_run():
    """A succeeded organisation run carrying the published CDNOW parameters (no fit needed)."""
    from predictions.models import PredictionRun

    return PredictionRun.objects.create(
        status=PredictionRun.Status.SUCCEEDED,
        calibration_end=AS_OF,
        data_start=dt.date(2025, 1, 1),
        r=0.2426,
        alpha=4.4135,
        a=0.7929,
        b=2.4258,
        log_likelihood=-9582.43,
        p=6.25,
        q=3.74,
        v=15.44,
        gamma_gamma_log_likelihood=-4055.92,
        customers=2357,
        repeat_customers=946,
        value_customers=946,
        tracking={
            "week_ends": ["2025-01-07", "2025-01-14"],
            "actual": [3, 5],
            "expected": [2.5, 4.25],
            "calibration_weeks": 1,
            "holdout": {"days": 7, "end": "2025-01-14", "actual": 5, "expected": 4.25},
        },
    )


def simulate_buyers(
    count: int, *, seed: int, start: dt.date, end: dt.date, segment=None
) -> list[list[dt.date]]:
    """`count` customers buying as the BG/NBD model says (r 0.5, α 4, a 0.8, b 2.4, rates per
    week), acquired over the first 12 weeks, spending as the Gamma-Gamma model says.

    Returns each customer's purchase days (several can share a day)."""
    import numpy as np

    from tests.customers.factories import CustomerFactory

    rng = np.random.default_rng(seed)
    histories = []
    for _ in range(count):
        customer = CustomerFactory.create(segment=segment)
        rate, dropout = rng.gamma(0.5, 1 / 4), rng.beta(0.8, 2.4)
        week = float(rng.uniform(0, 12))
        days = [start + dt.timedelta(days=int(week * 7))]
        while rng.random() >= dropout:
            week += rng.exponential(1 / max(rate, 1e-9))
            if week * 7 > (end - start).days:
                break
            day = start + dt.timedelta(days=int(week * 7))
            days.append(day)
        # Gamma-Gamma spends: ν ~ Gamma(q 4, rate v 60), each purchase ~ Gamma(p 6, rate ν).
        nu = rng.gamma(4, 1 / 60)
        for day in days:
            buy(customer, day, total=f"{rng.gamma(6, 1 / nu) + 0.01:.2f}")
        histories.append(days)
    return histories

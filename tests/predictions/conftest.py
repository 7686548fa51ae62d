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

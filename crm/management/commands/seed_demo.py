"""`manage.py seed_demo`: fill an empty database with the demo company and print the logins."""

from __future__ import annotations

import time
from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from crm.demo import SCALES, demo_figures, seed_demo
from crm.management.commands.demo_logins import write_login_table
from customers.models import Customer


class Command(BaseCommand):
    help = (
        "Generate a believable 24-month company history (customers, leads, deals, orders, "
        "tickets, surveys, costs) through the services, plus one demo login per role."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--seed", type=int, default=42, help="Random seed (default 42).")
        parser.add_argument(
            "--scale",
            choices=sorted(SCALES),
            default="medium",
            help="medium ≈ 2,000 customers and 10,000 orders; small is about 10× smaller.",
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing when customers already exist (used by `make run`).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if Customer.objects.exists():
            if options["if_empty"]:
                self.stdout.write("Customers already exist; demo data not generated (--if-empty).")
                return
            # Generated customers mixed into real (or earlier demo) data would corrupt every KPI.
            raise CommandError(
                "The database already holds customers. seed_demo only fills an empty database; "
                "use a fresh database, or pass --if-empty to skip quietly."
            )
        if not settings.DEBUG:
            self.stdout.write(
                self.style.WARNING(
                    "DEBUG is off: the demo logins below have public passwords. "
                    "Do not expose this database on a reachable server."
                )
            )
        started = time.monotonic()
        self.stdout.write(
            f"Generating the demo company (scale {options['scale']}, seed {options['seed']}) …"
        )
        seed_demo(seed=options["seed"], scale=options["scale"], stdout=self.stdout)
        self.stdout.write(
            self.style.SUCCESS(f"Demo data written in {time.monotonic() - started:.1f}s:")
        )
        for line in demo_figures().lines():
            self.stdout.write(f"  {line}")
        write_login_table(self.stdout)

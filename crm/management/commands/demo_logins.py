"""`manage.py demo_logins`: print where to sign in and the demo login of each role."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, OutputWrapper

from crm.demo.people import DEMO_URL, demo_logins


def write_login_table(stdout: OutputWrapper, url: str = DEMO_URL) -> None:
    rows = demo_logins()
    existing = set(
        get_user_model()
        .objects.filter(username__in=[row.username for row in rows], is_active=True)
        .values_list("username", flat=True)
    )
    stdout.write("")
    stdout.write(f"Pulse CRM demo: open {url}")
    stdout.write(f"  {'username':<9} {'password':<21} {'role':<14} what you see")
    for row in rows:
        missing = "" if row.username in existing else "  [missing: run seed_demo]"
        stdout.write(
            f"  {row.username:<9} {row.password:<21} {row.role:<14} {row.description}{missing}"
        )
    stdout.write(f"  Django admin: {url}admin/ (manager, admin)")
    stdout.write("")


class Command(BaseCommand):
    help = "Print the URL and the demo username/password of each role."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--url", default=DEMO_URL, help=f"Base URL (default {DEMO_URL}).")

    def handle(self, *args: Any, **options: Any) -> None:
        write_login_table(self.stdout, options["url"])

"""manage.py digests schedule | send-due [--date D] | send-test USERNAME | defaults USERNAME"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from kpis.periods import PeriodError, parse_date
from reports.digests import digest_send_test, digest_subscriptions_default, digests_send_due
from reports.models import DigestSubscription
from reports.tasks import beat_schedule_install


class Command(BaseCommand):
    help = "KPI digests: install the beat entry, send due digests, send a test digest."

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="action", required=True)
        commands.add_parser("schedule", help="Install or update the digest beat entry.")
        send_due = commands.add_parser("send-due", help="Send the digests due today.")
        send_due.add_argument("--date", help="Pretend today is this local date (YYYY-MM-DD).")
        send_test = commands.add_parser(
            "send-test", help="Send USERNAME's digests of the last closed periods to them now."
        )
        send_test.add_argument("username")
        defaults = commands.add_parser("defaults", help="Create USERNAME's role defaults.")
        defaults.add_argument("username")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "schedule":
            name = beat_schedule_install()
            self.stdout.write(f"Installed beat entry: {name}")
            return
        if action == "send-due":
            try:
                today = parse_date(options["date"], name="date") if options["date"] else None
            except PeriodError as exc:
                raise CommandError(str(exc)) from exc
            counts = digests_send_due(today=today)
            self.stdout.write(
                f"sent {counts['sent']}, skipped {counts['skipped']}, failed {counts['failed']}"
            )
            return
        user = get_user_model().objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"Unknown user {options['username']!r}.")
        if action == "defaults":
            created = digest_subscriptions_default(user)
            self.stdout.write(f"{len(created)} subscription(s) for {user}")
            return
        subscriptions = list(DigestSubscription.objects.filter(user=user, is_active=True))
        if not subscriptions:
            raise CommandError(f"{user} has no active digest subscription.")
        try:
            sent = digest_send_test(subscriptions=subscriptions, to_user=user)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        self.stdout.write(f"Sent {sent} test digest(s) to {user.email}")

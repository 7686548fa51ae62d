"""Import kinds of the help desk: tickets and ticket messages.

Unlike the other kinds these write through the support services row by row: a ticket's status
history and SLA clocks (`_refresh_clocks`: policy, business minutes, due times) are computed from
its whole conversation, which no set-based statement can reproduce faithfully. Validation is
still set-based (one query per relation per chunk) and uses the services' own checks
(`ticket_status_change_check`, `ticket_message_check`); a refusal while writing is reported on
its row. Help-desk exports are thousands of rows, not the hundred thousands of an order history.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.importing import values as parse
from crm.importing.base import (
    Column,
    ImportContext,
    ImportKind,
    Row,
    by_external_id,
    reference_table,
    resolve_reference,
)
from crm.importing.kinds import _load_users, _text, validation_messages
from customers.models import Contact, Customer, Team
from support.models import Priority, Ticket, TicketMessage
from support.services import (
    ticket_assign,
    ticket_create,
    ticket_message_add,
    ticket_message_check,
    ticket_status_change,
    ticket_status_change_check,
    ticket_update,
)


def _refusal(row: Row, exc: ValidationError, default_column: str) -> None:
    for field, message in validation_messages(exc):
        row.error(field if field and field != "__all__" else default_column, message)


class TicketKind(ImportKind):
    key = "tickets"
    label = gettext_lazy("Tickets")
    model = Ticket
    columns = (
        Column("external_id", required=True, aliases=("id", "ticket_id")),
        Column("customer", required=True, aliases=("customer_id",)),
        Column("subject", required=True),
        Column("body", help="first message (new tickets only)"),
        Column("category"),
        Column("channel"),
        Column("priority"),
        Column("status", help="moved along the status machine from the current status"),
        Column("status_changed_at", help="when the status was reached (default: created_at)"),
        Column("team"),
        Column("assignee", help="username or e-mail"),
        Column("contact", help="contact external id"),
        Column("opened_by_agent"),
        Column("created_at"),
    )
    existing_fields = ("pk", "status", "customer_id", "created_at")
    CATEGORIES = parse.choice_map(Ticket.Category.choices)
    CHANNELS = parse.choice_map(Ticket.Channel.choices)
    PRIORITIES = parse.choice_map(Priority.choices)
    STATUSES = parse.choice_map(Ticket.Status.choices)

    def prepare(self, ctx: ImportContext) -> None:
        ctx.cache["teams"] = reference_table(Team, "name")

    def validate(self, rows: list[Row], ctx: ImportContext) -> None:
        self.load_existing(rows)
        customers = by_external_id(Customer, (row.raw("customer") for row in rows))
        contacts = by_external_id(Contact, (row.raw("contact") for row in rows), "customer_id")
        users = _load_users(ctx, rows, "assignee")
        for row in rows:
            row.require("external_id")
            _text(row, self, "external_id")
            customer = None
            if row.require("customer"):
                customer = customers.get(row.raw("customer"))
                if customer is None:
                    row.error(
                        "customer", _("unknown customer “%(id)s”") % {"id": row.raw("customer")}
                    )
            if row.require("subject"):
                _text(row, self, "subject")
            row.parse("body", str.strip, "")
            row.parse("category", lambda raw: parse.choice(raw, choices=self.CATEGORIES))
            row.parse("channel", lambda raw: parse.choice(raw, choices=self.CHANNELS))
            row.parse("priority", lambda raw: parse.choice(raw, choices=self.PRIORITIES))
            status = row.parse("status", lambda raw: parse.choice(raw, choices=self.STATUSES))
            row.parse("status_changed_at", parse.moment)
            row.parse("opened_by_agent", parse.boolean, False)
            row.parse("created_at", parse.moment)
            team = resolve_reference(row, "team", ctx.cache["teams"], _("team"))
            row.values["team"] = team["pk"] if team else None
            row.values["assignee"] = users.resolve(row, "assignee")
            contact = None
            if row.has("contact"):
                contact = contacts.get(row.raw("contact"))
                if contact is None:
                    row.error("contact", _("unknown contact “%(id)s”") % {"id": row.raw("contact")})
                elif customer is not None and contact["customer_id"] != customer["pk"]:
                    row.error("contact", _("The contact belongs to another customer."))
            row.values["contact"] = contact["pk"] if contact else None
            current = (row.existing or {}).get("status", Ticket.Status.NEW)
            if status and status != current:
                try:
                    ticket_status_change_check(ticket=Ticket(status=current), to_status=status)
                except ValidationError as exc:
                    _refusal(row, exc, "status")
            if customer is not None:
                row.values["customer"] = customer["pk"]

    def touched(self, row: Row) -> tuple[Any, ...]:
        return (row.values["created_at"] or timezone.now(), row.values["status_changed_at"])

    def write(self, rows: list[Row], ctx: ImportContext) -> None:
        for row in rows:
            try:
                with transaction.atomic():
                    self._write_one(row, ctx)
            except ValidationError as exc:
                _refusal(row, exc, "external_id")

    def _write_one(self, row: Row, ctx: ImportContext) -> None:
        values = row.values
        descriptive = {
            name: values[name]
            for name in ("category", "channel", "priority")
            if values.get(name) is not None
        }
        if row.existing is None:
            ticket = ticket_create(
                customer=Customer(pk=values["customer"]),
                subject=values["subject"],
                body=values["body"],
                team=Team(pk=values["team"]) if values["team"] else None,
                assignee=_user(values["assignee"]),
                contact=Contact.objects.get(pk=values["contact"]) if values["contact"] else None,
                opened_by_agent=values["opened_by_agent"],
                created_at=values["created_at"],
                external_id=row.raw("external_id"),
                **descriptive,
            )
        else:
            ticket = Ticket.objects.get(pk=row.existing["pk"])
            fields: dict[str, Any] = {"subject": values["subject"], **descriptive}
            if "contact" in ctx.columns:
                fields["contact"] = (
                    Contact.objects.get(pk=values["contact"]) if values["contact"] else None
                )
            ticket = ticket_update(ticket=ticket, **fields)
            if ("assignee" in ctx.columns or "team" in ctx.columns) and (
                ticket.assignee_id != values["assignee"]
                or (values["team"] and ticket.team_id != values["team"])
            ):
                ticket = ticket_assign(
                    ticket=ticket,
                    assignee=_user(values["assignee"]),
                    team=Team.objects.get(pk=values["team"]) if values["team"] else None,
                )
        status = values["status"]
        if status and status != ticket.status:
            ticket_status_change(
                ticket=ticket,
                to_status=status,
                at=values["status_changed_at"] or values["created_at"] or timezone.now(),
            )


def _user(pk: int | None) -> Any:
    if pk is None:
        return None

    return get_user_model()._default_manager.get(pk=pk)


class TicketMessageKind(ImportKind):
    key = "ticket_messages"
    label = gettext_lazy("Ticket messages")
    model = TicketMessage
    columns = (
        Column("external_id", required=True, aliases=("id", "message_id")),
        Column("ticket", required=True, aliases=("ticket_id",)),
        Column("author_kind", required=True, help="agent, customer or system"),
        Column("body", required=True),
        Column("author", help="username or e-mail of the agent"),
        Column("is_public", help="default yes; no = internal note"),
        Column("automated"),
        Column("created_at"),
    )
    AUTHORS = parse.choice_map(TicketMessage.AuthorKind.choices)

    def validate(self, rows: list[Row], ctx: ImportContext) -> None:
        self.load_existing(rows)
        tickets = by_external_id(Ticket, (row.raw("ticket") for row in rows), "status")
        users = _load_users(ctx, rows, "author")
        for row in rows:
            row.require("external_id")
            _text(row, self, "external_id")
            ticket = None
            if row.require("ticket"):
                ticket = tickets.get(row.raw("ticket"))
                if ticket is None:
                    row.error("ticket", _("unknown ticket “%(id)s”") % {"id": row.raw("ticket")})
            kind = row.parse("author_kind", lambda raw: parse.choice(raw, choices=self.AUTHORS))
            row.require("author_kind")
            body = row.parse("body", str.strip, "")
            row.require("body")
            is_public = row.parse("is_public", parse.boolean, True)
            row.parse("automated", parse.boolean, False)
            row.parse("created_at", parse.moment)
            row.values["author"] = users.resolve(row, "author")
            if ticket is not None and kind and body and row.existing is None:
                try:
                    ticket_message_check(
                        ticket=Ticket(status=ticket["status"]),
                        author_kind=kind,
                        body=body,
                        is_public=is_public,
                    )
                except ValidationError as exc:
                    _refusal(row, exc, "ticket")
                row.values["ticket"] = ticket["pk"]

    def touched(self, row: Row) -> tuple[Any, ...]:
        return (row.values["created_at"],)

    def write(self, rows: list[Row], ctx: ImportContext) -> None:
        for row in rows:
            values = row.values
            if row.existing is not None:
                # Messages are history: a re-import corrects the text, never replays effects.
                TicketMessage.objects.filter(pk=row.existing["pk"]).update(body=values["body"])
                continue
            try:
                with transaction.atomic():
                    message = ticket_message_add(
                        ticket=Ticket(pk=values["ticket"]),
                        body=values["body"],
                        author_kind=values["author_kind"],
                        author_user=_user(values["author"]),
                        is_public=values["is_public"],
                        automated=values["automated"],
                        at=values["created_at"],
                    )
                    # The service has no external_id argument; stamp it in the same transaction.
                    TicketMessage.objects.filter(pk=message.pk).update(
                        external_id=row.raw("external_id")
                    )
            except ValidationError as exc:
                _refusal(row, exc, "ticket")

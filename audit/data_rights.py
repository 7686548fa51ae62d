"""Customer data rights: export everything Pulse holds about one customer, and anonymise one.

Anonymising erases the personal fields (name → pseudonym, e-mail, phone), deletes the contacts,
erases message bodies, ticket subjects, activity and retention notes and survey comments, and
scrubs the same values from the audit trail's copies. Orders, deals, their amounts and the KPI
snapshots stay, so every figure is unchanged. Pulse stores no files per customer (no
attachments), so the export ZIP holds the JSON document only.

Writes go through the model fields (instance `save` and `bulk_update`), so field-level encryption
of e-mail, phone and message bodies applies to the erased values too.
"""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any, cast

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.utils import timezone

from audit.context import actor_context, trail_supported
from audit.models import DataRightsEvent
from audit.selectors import EventFilters, audit_event_list, event_changes, event_model_for
from customers.models import Contact, Customer
from sales.models import Activity, Lead, RetentionCase
from support.models import Ticket, TicketMessage
from surveys.models import SurveyResponse

ERASED = "[erased]"
EXPORT_VERSION = 1


def customer_pseudonym(customer: Customer) -> str:
    return f"Anonymised customer {customer.pk}"


def _rows(queryset: models.QuerySet[Any]) -> list[dict[str, Any]]:
    return list(queryset.order_by("pk").values())


def _related_sections(customer: Customer) -> dict[str, Any]:
    """Every record pointing at the customer, with the records each owns (order lines, ticket
    messages...), found from the model relations so a new related model is not forgotten.
    One query per related model and per owned model, whatever the number of records."""
    sections: dict[str, Any] = {}
    for relation in Customer._meta.related_objects:
        model = cast(type[models.Model], relation.related_model)
        if model._meta.app_label == "audit" or model is Customer:
            continue  # the trail is its own section; referred customers are other people
        records = _rows(model._default_manager.filter(**{relation.field.name: customer}))
        ids = [record["id"] for record in records]
        for child in model._meta.related_objects:
            child_model = cast(type[models.Model], child.related_model)
            if child.on_delete is not models.CASCADE or child_model._meta.app_label == "audit":
                continue
            owned: dict[Any, list[dict[str, Any]]] = {}
            column = child.field.attname
            for row in _rows(child_model._default_manager.filter(**{f"{column}__in": ids})):
                owned.setdefault(row[column], []).append(row)
            for record in records:
                if record["id"] in owned:
                    record.setdefault("owned", {})[child_model._meta.label] = owned[record["id"]]
        sections[f"{model._meta.label} ({relation.field.name})"] = records
    return sections


def _trail_section(customer: Customer) -> list[dict[str, Any]]:
    if not trail_supported():
        return []
    events = audit_event_list(
        filters=EventFilters(record_type="customers.Customer", record_id=str(customer.pk))
    )
    return [
        {
            "time": event.pgh_created_at,
            "action": event.pgh_label,
            "source": event.source,
            "user": event.user_id,
            "changes": [[name, before, after] for name, before, after in event_changes(event)],
        }
        for event in events
    ]


def customer_data(customer: Customer) -> dict[str, Any]:
    """Everything Pulse holds about the customer, as one JSON-serialisable document."""
    return {
        "format": "pulse-customer-export",
        "version": EXPORT_VERSION,
        "exported_at": timezone.now(),
        "customer": _rows(Customer.objects.filter(pk=customer.pk))[0],
        "related": _related_sections(customer),
        "audit_trail": _trail_section(customer),
    }


@actor_context
def customer_data_export(*, customer: Customer, actor: Any) -> bytes:
    """The customer's data as a ZIP (customer.json); the export itself is recorded."""
    document = json.dumps(customer_data(customer), cls=DjangoJSONEncoder, indent=2)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("customer.json", document)
    DataRightsEvent.objects.create(
        kind=DataRightsEvent.Kind.EXPORT, customer_id=customer.pk, actor=actor
    )
    return buffer.getvalue()


@actor_context
@transaction.atomic
def customer_anonymise(*, customer: Customer, actor: Any) -> Customer:
    """Replace the customer by a pseudonym and erase its personal data, trail included."""
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    pseudonym = customer_pseudonym(customer)
    customer.name = pseudonym
    customer.email = ""
    customer.phone = ""
    customer.save()

    customer.contacts.all().delete()

    leads = list(Lead.objects.filter(converted_customer=customer))
    for lead in leads:
        lead.name, lead.company, lead.email, lead.phone = pseudonym, "", "", ""
        # bulk_update skips pre_save: clear the blind indexes too, or the old address's
        # keyed hash would still identify the person.
        lead.email_bidx, lead.phone_bidx = "", ""
    Lead.objects.bulk_update(
        leads, ["name", "company", "email", "phone", "email_bidx", "phone_bidx"]
    )

    tickets = list(Ticket.objects.filter(customer=customer))
    for ticket in tickets:
        ticket.subject = ERASED
    Ticket.objects.bulk_update(tickets, ["subject"])
    messages = list(TicketMessage.objects.filter(ticket__customer=customer))
    for message in messages:
        message.body, message.email_message_id = ERASED, ""
    TicketMessage.objects.bulk_update(messages, ["body", "email_message_id"], batch_size=500)

    responses = list(SurveyResponse.objects.filter(customer=customer))
    for response in responses:
        response.comment = ""
    SurveyResponse.objects.bulk_update(responses, ["comment"])

    activities = list(Activity.objects.filter(customer=customer))
    for activity in activities:
        activity.subject, activity.notes = ERASED, ""
    Activity.objects.bulk_update(activities, ["subject", "notes"], batch_size=500)

    cases = list(RetentionCase.objects.filter(customer=customer))
    for case in cases:
        case.reason, case.outreach = "", ""
    RetentionCase.objects.bulk_update(cases, ["reason", "outreach"])

    _trail_scrub(customer, pseudonym, [ticket.pk for ticket in tickets])
    DataRightsEvent.objects.create(
        kind=DataRightsEvent.Kind.ANONYMISE, customer_id=customer.pk, actor=actor
    )
    return customer


def _trail_scrub(customer: Customer, pseudonym: str, ticket_ids: list[int]) -> None:
    """Overwrite the personal values in the trail's copies of the customer's records."""
    if not trail_supported():
        return
    event_model_for(Customer).objects.filter(pgh_obj_id=customer.pk).update(
        name=pseudonym, email="", phone="", email_bidx="", phone_bidx=""
    )
    event_model_for(Contact).objects.filter(customer_id=customer.pk).update(
        first_name=ERASED,
        last_name="",
        email="",
        phone="",
        email_bidx="",
        phone_bidx="",
        job_title="",
    )
    event_model_for(Lead).objects.filter(converted_customer_id=customer.pk).update(
        name=pseudonym, company="", email="", phone="", email_bidx="", phone_bidx=""
    )
    event_model_for(Ticket).objects.filter(customer_id=customer.pk).update(subject=ERASED)
    event_model_for(TicketMessage).objects.filter(ticket_id__in=ticket_ids).update(
        body=ERASED, email_message_id=""
    )
    event_model_for(SurveyResponse).objects.filter(customer_id=customer.pk).update(comment="")

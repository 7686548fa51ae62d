"""Replay a planned company history through the domain services, batch by batch.

Every record with rules (customers, leads, deals, orders, tickets, surveys, retention cases,
costs) is written by its service with the planned historical timestamp, so derived fields
(acquisition dates, net amounts, SLA clocks, stage histories) are exactly what the services
compute. Batches run in one transaction each: a failure leaves whole batches, never half a
customer.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction

from crm.demo.people import CUSTOMER_SUPPORT
from crm.demo.reference import CSAT_SURVEY, NPS_SURVEY, Reference
from crm.demo.story import (
    ActivityPlan,
    CompanyPlan,
    CustomerPlan,
    DealPlan,
    LeadPlan,
    RetentionPlan,
    SurveyPlan,
    TicketPlan,
)
from customers.models import Contact, Customer
from customers.services import (
    contact_create,
    customer_create,
    customer_mark_churned,
    customer_update,
)
from sales.models import Campaign, Lead, Opportunity
from sales.services import (
    activity_log,
    campaign_create,
    lead_convert,
    lead_create,
    lead_merge,
    lead_set_status,
    marketing_spend_record,
    opportunity_create,
    opportunity_move_stage,
    order_cancel,
    order_create,
    order_mark_delivered,
    order_refund,
    retention_case_close,
    retention_case_open,
    sales_cost_record,
)
from support.models import Ticket
from support.services import (
    ticket_create,
    ticket_mark_spam,
    ticket_merge,
    ticket_message_add,
    ticket_status_change,
)
from surveys.models import SurveyInvitation
from surveys.services import (
    survey_invitation_create,
    survey_invitations_mark_sent,
    survey_response_record,
)

Item = TypeVar("Item")


class Output(Protocol):
    """Where progress goes: a management command's stdout or any text stream."""

    def write(self, msg: str) -> object: ...

    def flush(self) -> None: ...


BATCH = 200


@dataclass
class Built:
    """What has been written so far, by plan index, so later stages pass instances."""

    customers: list[Customer] = field(default_factory=list)
    contacts: dict[int, Contact] = field(default_factory=dict)
    leads: dict[int, Lead] = field(default_factory=dict)
    deals: dict[int, Opportunity] = field(default_factory=dict)
    tickets: dict[int, Ticket] = field(default_factory=dict)
    campaigns: list[Campaign] = field(default_factory=list)


class Builder:
    def __init__(
        self,
        *,
        plan: CompanyPlan,
        reference: Reference,
        users: dict[str, User],
        stdout: Output,
    ) -> None:
        self.plan = plan
        self.ref = reference
        self.users = users
        self.stdout = stdout
        self.built = Built()
        # Merged duplicate tickets by the index of the ticket they are merged into.
        self.duplicates: dict[int, list[tuple[int, TicketPlan]]] = {}

    def run(self) -> None:
        plan = self.plan
        # Kept when seeding again over an existing demo, so campaign names stay unique.
        self.built.campaigns = [
            Campaign.objects.filter(name=c.name).first()
            or campaign_create(
                name=c.name,
                channel=self.ref.channels[c.channel],
                starts_on=c.starts_on,
                ends_on=c.ends_on,
                budget=c.budget,
            )
            for c in plan.campaigns
        ]
        self._stage("customers, converted leads and orders", plan.customers, self._customer)
        loose = [(i, lead) for i, lead in enumerate(plan.leads) if lead.customer is None]
        self._stage("other leads", loose, self._loose_lead)
        deals = [(i, deal) for i, deal in enumerate(plan.deals) if not deal.via_lead]
        self._stage("expansion and renewal deals", deals, self._deal)
        self._stage("activities", plan.activities, self._activity)
        originals = [(i, t) for i, t in enumerate(plan.tickets) if t.duplicate_of is None]
        for index, ticket in enumerate(plan.tickets):
            if ticket.duplicate_of is not None:
                self.duplicates.setdefault(ticket.duplicate_of, []).append((index, ticket))
        self._stage("tickets and conversations", originals, self._ticket)
        self._stage("survey invitations and responses", plan.surveys, self._survey)
        self._invitations_sent()
        self._stage("retention cases", plan.retention, self._retention)
        costs: list[Callable[[], object]] = [
            *(self._spend_writer(*row) for row in plan.marketing_spend),
            *(self._cost_writer(*row) for row in plan.sales_costs),
        ]
        self._stage("marketing spend and sales costs", costs, lambda write: write())

    def _stage(self, label: str, items: Sequence[Item], write: Callable[[Item], Any]) -> None:
        started, cpu = time.monotonic(), time.process_time()
        for offset in range(0, len(items), BATCH):
            with transaction.atomic():
                for item in items[offset : offset + BATCH]:
                    write(item)
        self.stdout.write(
            f"  {label}: {len(items)} in {time.monotonic() - started:.1f}s"
            f" (cpu {time.process_time() - cpu:.1f}s)\n"
        )
        self.stdout.flush()

    def user(self, username: str | None) -> User | None:
        return self.users[username] if username else None

    # --- customers ------------------------------------------------------------------------

    def _lead_create(self, lead: LeadPlan) -> Lead:
        created = lead_create(
            name=lead.name,
            company=lead.company,
            email=lead.email,
            phone=lead.phone,
            source=lead.source,
            channel=self.ref.channels[lead.channel] if lead.channel else None,
            campaign=self.built.campaigns[lead.campaign] if lead.campaign is not None else None,
            owner=self.user(lead.owner),
            team=self.ref.teams[lead.team],
            created_at=lead.created_at,
        )
        if lead.duplicate_at is not None:
            # The same person filled in the form twice; sales merges the copy into the original.
            duplicate = lead_create(
                name=lead.name,
                company=lead.company,
                email=lead.email,
                source=lead.source,
                channel=self.ref.channels[lead.channel] if lead.channel else None,
                owner=self.user(lead.owner),
                team=self.ref.teams[lead.team],
                created_at=lead.duplicate_at,
            )
            lead_merge(duplicate=duplicate, into=created)
        return created

    def _customer(self, plan: CustomerPlan) -> None:
        ref = self.ref
        lead = self._lead_create(self.plan.leads[plan.lead]) if plan.lead is not None else None
        customer = customer_create(
            name=plan.name,
            kind=plan.kind,
            email=plan.email,
            phone=plan.phone,
            owner=self.user(plan.owner),
            team=ref.teams[plan.team],
            segment=ref.segments[plan.segment],
            channel=ref.channels[plan.channel],
            campaign=self.built.campaigns[plan.campaign] if plan.campaign is not None else None,
            referred_by=(
                self.built.customers[plan.referred_by] if plan.referred_by is not None else None
            ),
            created_at=plan.created_at,
            language=plan.language,
        )
        self.built.customers.append(customer)
        for contact in plan.contacts:
            made = contact_create(
                customer=customer,
                first_name=contact.first_name,
                last_name=contact.last_name,
                email=contact.email,
                phone=contact.phone,
                job_title=contact.job_title,
                is_primary=contact.is_primary,
            )
            if contact.is_primary:
                self.built.contacts[plan.index] = made
        if lead is not None and plan.lead is not None:
            lead_plan = self.plan.leads[plan.lead]
            self.built.leads[plan.lead] = lead
            deal = self.plan.deals[lead_plan.deal] if lead_plan.deal is not None else None
            _customer, opportunity = lead_convert(
                lead=lead,
                customer=customer,
                converted_at=lead_plan.converted_at,
                create_opportunity=deal is not None,
                opportunity_amount=deal.amount if deal is not None else None,
                actor=self.user(lead_plan.owner),
            )
            if opportunity is not None and deal is not None and lead_plan.deal is not None:
                self.built.deals[lead_plan.deal] = opportunity
                self._moves(opportunity, deal)
        owner = self.user(plan.owner)
        channel = ref.channels[plan.channel]
        foreign = plan.currency != settings.CRM_CURRENCY
        for order_plan in plan.orders:
            order = order_create(
                customer=customer,
                ordered_at=order_plan.at,
                lines=[
                    {"product": ref.products[sku], "quantity": quantity, "unit_price": price}
                    for sku, quantity, price in order_plan.lines
                ],
                currency=order_plan.currency,
                exchange_rate=order_plan.rate if foreign else None,
                status=order_plan.status,
                channel=channel,
                owner=owner,
            )
            if order_plan.cancel_at is not None:
                order_cancel(order=order, actor=owner, at=order_plan.cancel_at)
                continue
            if order_plan.refund is not None:
                amount, refunded_at, reason = order_plan.refund
                order_refund(order=order, amount=amount, actor=owner, at=refunded_at, reason=reason)
            if order_plan.delivered_at is not None:
                order_mark_delivered(order=order, at=order_plan.delivered_at)
        if plan.contract_end is not None:
            customer_update(customer=customer, contract_end_date=plan.contract_end, actor=owner)
        if plan.churned_at is not None:
            customer_mark_churned(customer=customer, churned_at=plan.churned_at, actor=owner)

    def _loose_lead(self, item: tuple[int, LeadPlan]) -> None:
        """A lead that did not convert, left in its work state (contacted, disqualified …)."""
        index, plan = item
        lead = self._lead_create(plan)
        if plan.status != Lead.Status.NEW:
            lead = lead_set_status(lead=lead, status=plan.status, actor=self.user(plan.owner))
        self.built.leads[index] = lead

    # --- deals ----------------------------------------------------------------------------

    def _deal(self, item: tuple[int, DealPlan]) -> None:
        index, deal = item
        opportunity = opportunity_create(
            customer=self.built.customers[deal.customer],
            name=deal.name,
            amount=deal.amount,
            stage=self.ref.stages[deal.first_stage],
            kind=deal.kind,
            owner=self.user(deal.owner),
            team=self.ref.teams[deal.team],
            expected_close_date=deal.expected_close,
            created_at=deal.created_at,
            actor=self.user(deal.owner),
        )
        self.built.deals[index] = opportunity
        self._moves(opportunity, deal)

    def _moves(self, opportunity: Opportunity, deal: DealPlan) -> None:
        for stage, at, reason in deal.moves:
            opportunity = opportunity_move_stage(
                opportunity=opportunity,
                to_stage=self.ref.stages[stage],
                actor=self.user(deal.owner),
                at=at,
                lost_reason=reason,
            )

    # --- activities -----------------------------------------------------------------------

    def _activity(self, plan: ActivityPlan) -> None:
        built = self.built
        activity_log(
            kind=plan.kind,
            subject=plan.subject,
            owner=self.user(plan.owner),
            customer=built.customers[plan.customer] if plan.customer is not None else None,
            lead=built.leads[plan.lead] if plan.lead is not None else None,
            opportunity=built.deals[plan.deal] if plan.deal is not None else None,
            notes=plan.notes,
            due_at=plan.due_at,
            done_at=plan.done_at,
            is_bulk=plan.is_bulk,
            created_at=plan.created_at,
        )

    # --- support --------------------------------------------------------------------------

    def _ticket_create(self, plan: TicketPlan) -> Ticket:
        agent = self.user(plan.assignee)
        return ticket_create(
            customer=self.built.customers[plan.customer],
            subject=plan.subject,
            body=plan.body,
            category=plan.category,
            channel=plan.channel,
            priority=plan.priority,
            team=self.ref.teams[CUSTOMER_SUPPORT],
            assignee=agent,
            contact=self.built.contacts.get(plan.customer),
            opened_by_agent=plan.opened_by_agent,
            author=agent if plan.opened_by_agent else None,
            created_at=plan.created_at,
        )

    def _ticket(self, item: tuple[int, TicketPlan]) -> None:
        index, plan = item
        ticket = self._ticket_create(plan)
        self.built.tickets[index] = ticket
        if plan.spam:
            ticket_mark_spam(
                ticket=ticket, actor=self.user(plan.assignee), at=plan.closed_by_agent_at
            )
            return
        for duplicate_index, duplicate_plan in self.duplicates.get(index, []):
            duplicate = self._ticket_create(duplicate_plan)
            self.built.tickets[duplicate_index] = duplicate
            ticket = ticket_merge(
                duplicate=duplicate,
                into=ticket,
                actor=self.user(plan.assignee),
                at=duplicate_plan.closed_by_agent_at,
            )
        for event in plan.events:
            if event.kind == "message":
                message = ticket_message_add(
                    ticket=ticket,
                    body=event.body,
                    author_kind=event.author_kind,
                    author_user=self.user(event.author),
                    is_public=event.is_public,
                    automated=event.automated,
                    at=event.at,
                )
                ticket = message.ticket
            elif ticket.status != event.to_status:
                ticket = ticket_status_change(
                    ticket=ticket,
                    to_status=event.to_status,
                    actor=self.user(event.author),
                    at=event.at,
                )

    # --- surveys, retention, costs --------------------------------------------------------

    def _survey(self, plan: SurveyPlan) -> None:
        survey = self.ref.surveys[NPS_SURVEY if plan.survey == "nps" else CSAT_SURVEY]
        ticket = self.built.tickets[plan.ticket] if plan.ticket is not None else None
        invitation = survey_invitation_create(
            survey=survey,
            customer=self.built.customers[plan.customer],
            ticket=ticket,
            at=plan.invited_at,
        )
        if plan.response is not None:
            score, comment, answered = plan.response
            survey_response_record(invitation=invitation, score=score, comment=comment, at=answered)

    def _invitations_sent(self) -> None:
        """Historical invitations went out when they were created; `survey_invitation_send`
        would e-mail each one (thousands of messages to `.example` addresses)."""
        survey_invitations_mark_sent(invitations=SurveyInvitation.objects.all())

    def _retention(self, plan: RetentionPlan) -> None:
        case = retention_case_open(
            customer=self.built.customers[plan.customer],
            owner=self.user(plan.owner),
            reason=plan.reason,
            outreach=plan.outreach,
            cost=plan.cost,
            opened_at=plan.opened_at,
        )
        if plan.outcome is not None:
            retention_case_close(
                case=case, outcome=plan.outcome, closed_at=plan.closed_at, cost=plan.final_cost
            )

    def _spend_writer(
        self, start: Any, end: Any, channel: str, amount: Any
    ) -> Callable[[], object]:
        return lambda: marketing_spend_record(
            period_start=start, period_end=end, amount=amount, channel=self.ref.channels[channel]
        )

    def _cost_writer(
        self, start: Any, end: Any, team: str, amount: Any, description: str
    ) -> Callable[[], object]:
        return lambda: sales_cost_record(
            period_start=start,
            period_end=end,
            amount=amount,
            team=self.ref.teams[team],
            description=description,
        )

"""Who may do what over the API: every resource × role × action, on a team A and a team B record.

The crew (tests/api/conftest.py): the rep and the agent are members of team A, the manager
manages team A, rep_b is in team B, the admin is in no team. "Own" is a record of team A
(or of a team A customer), "other" the same record for team B.

The expectations are the roles' rules, written out:
- verbs: the model permissions of each role's group (crm/migrations/0001_roles, and
  kpis/migrations/0003 for the index, targets and alerts); weights are written by admins only;
- rows: the visibility selectors (`customers_visible_to`, `leads_visible_to`, `tickets_visible_to`
  …) — a rep, agent or manager sees team A's records, not team B's; an admin sees everything;
  reference data (channels, products, campaigns, surveys, KPI rows …) has no owner and every
  holder of the view permission reads all of it;
- HTTP: anonymous → 401; a verb the role lacks → 403 (checked before any lookup, so the other
  team's record is 403 too); a record outside the role's rows → 404; a verb the resource does
  not offer → 405 for a role that holds the permission.

Columns of `E`: list (which of the two records the list shows: "own", "both", or the refusal),
retrieve own/other, create, update own/other, delete own/other.
"""

# factory_boy types `SomeFactory()` as the factory, not the model it builds (project-wide).
# mypy: disable-error-code="arg-type,attr-defined,misc"

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple

import pytest
from django.db.models import Model

from kpis.models import Alert, AlertRule, IndexSnapshot, KpiSnapshot, Target, WeightVersion
from tests.customers.factories import (
    ChannelFactory,
    ContactFactory,
    CustomerFactory,
    SegmentFactory,
    TeamFactory,
)
from tests.sales.factories import (
    ActivityFactory,
    CampaignFactory,
    LeadFactory,
    MarketingSpendFactory,
    OpportunityFactory,
    OrderFactory,
    PipelineStageFactory,
    ProductFactory,
    ProductLineFactory,
    RetentionCaseFactory,
    SalesCostFactory,
)
from tests.support.factories import BusinessScheduleFactory, SLAPolicyFactory, TicketFactory
from tests.surveys.factories import SurveyFactory, SurveyInvitationFactory, SurveyResponseFactory

pytestmark = pytest.mark.django_db

ROLES = ("rep", "agent", "manager", "admin", "anonymous")
JAN, FEB = dt.date(2026, 1, 1), dt.date(2026, 2, 1)


class E(NamedTuple):
    list: str | int
    get_own: int
    get_other: int
    create: int
    update_own: int
    update_other: int
    delete_own: int
    delete_other: int


def refused(status: int) -> E:
    return E(status, status, status, status, status, status, status, status)


ANONYMOUS = refused(401)
NO_ACCESS = refused(403)


@dataclass(frozen=True)
class Resource:
    url: str
    make: Callable[[Any, Any], Any]  # (crew, team) → a record of that team
    create: Callable[[Any], dict[str, Any]]  # a body valid for the roles that may create
    change: Callable[[Model], dict[str, Any]]  # an update body valid for the roles that may
    expect: dict[str, E]
    update_method: str = "patch"


def _customer(team: Any) -> Any:
    return CustomerFactory(team=team)


def _period(team: Any) -> dt.date:
    # Distinct periods, so two records of a KPI table never collide on its unique key.
    return dt.date(2025 if team.name == "Team A" else 2024, 1, 1)


def _alert(crew: Any, team: Any) -> Alert:
    # The rule watches the team's cell: alerts are read within the KPI scope (kpi_scope_for).
    rule = AlertRule.objects.create(
        name=f"Low revenue {team.name}", kpi="revenue", granularity="month", lower_threshold=1,
        dimension="team", dimension_value=str(team.pk),
    )  # fmt: skip
    start = _period(team)
    return Alert.objects.create(
        rule=rule, granularity="month", period_start=start,
        period_end=start.replace(month=2), value=Decimal("0"),
    )  # fmt: skip


def _kpi_snapshot(crew: Any, team: Any) -> KpiSnapshot:
    start = _period(team)
    return KpiSnapshot.objects.create(
        kpi="revenue", granularity="month", period_start=start,
        period_end=start.replace(month=2), value=Decimal("0"),
        dimension="team", dimension_value=str(team.pk),
    )  # fmt: skip


def _index_snapshot(crew: Any, team: Any) -> IndexSnapshot:
    start = _period(team)
    return IndexSnapshot.objects.create(
        granularity="month", period_start=start, period_end=start.replace(month=2),
        version=WeightVersion.objects.get(status="active"), coverage=Decimal("0"),
    )  # fmt: skip


def _target(crew: Any, team: Any) -> Target:
    return Target.objects.create(
        kpi="revenue", granularity="month", period_start=_period(team),
        kind="absolute", amount=Decimal("100"),
    )  # fmt: skip


def _rename(record: Model) -> dict[str, Any]:
    return {"name": f"Renamed {record.pk}"}


#                 list    get own/other  create  update own/other  delete own/other
# fmt: off
SALES_WORKER =    E("own",  200, 404,     201,    200, 404,         403, 403)
SALES_ALL =       E("own",  200, 404,     201,    200, 404,         204, 404)
TEAM_READER =     E("own",  200, 404,     403,    403, 403,         403, 403)
ADMIN =           E("both", 200, 200,     201,    200, 200,         204, 204)
READER =          E("both", 200, 200,     403,    403, 403,         403, 403)
EDITOR =          E("both", 200, 200,     201,    200, 200,         403, 403)
# fmt: on

RESOURCES: dict[str, Resource] = {
    "customers": Resource(
        url="customers",
        make=lambda crew, team: _customer(team),
        create=lambda crew: {"name": "New customer", "team": crew.team_a.pk},
        change=_rename,
        expect={"rep": SALES_WORKER, "agent": TEAM_READER, "manager": SALES_WORKER, "admin": ADMIN},
    ),
    "contacts": Resource(
        url="contacts",
        make=lambda crew, team: ContactFactory(customer=_customer(team)),
        create=lambda crew: {"customer": _customer(crew.team_a).pk, "first_name": "New"},
        change=lambda record: {"job_title": "CEO"},
        expect={"rep": SALES_ALL, "agent": TEAM_READER, "manager": SALES_ALL, "admin": ADMIN},
    ),
    # Teams are reference data: every role reads all of them; managers run them (no delete).
    "teams": Resource(
        url="teams",
        make=lambda crew, team: TeamFactory(name=f"{team.name} squad"),
        create=lambda crew: {"name": "New team"},
        change=_rename,
        expect={"rep": READER, "agent": READER, "manager": EDITOR, "admin": ADMIN},
    ),
    "channels": Resource(
        url="channels",
        make=lambda crew, team: ChannelFactory(),
        create=lambda crew: {"code": "new-channel", "name": "New channel"},
        change=lambda record: {"is_active": False},
        expect={"rep": READER, "agent": NO_ACCESS, "manager": READER, "admin": ADMIN},
    ),
    "segments": Resource(
        url="segments",
        make=lambda crew, team: SegmentFactory(),
        create=lambda crew: {"code": "new-segment", "name": "New segment"},
        change=lambda record: {"inactivity_days": 90},
        expect={"rep": READER, "agent": NO_ACCESS, "manager": READER, "admin": ADMIN},
    ),
    "leads": Resource(
        url="leads",
        make=lambda crew, team: LeadFactory(team=team),
        create=lambda crew: {"name": "New lead", "team": crew.team_a.pk},
        change=lambda record: {"phone": "+49 30 1234"},
        expect={"rep": SALES_WORKER, "agent": NO_ACCESS, "manager": SALES_WORKER, "admin": ADMIN},
    ),
    "opportunities": Resource(
        url="opportunities",
        make=lambda crew, team: OpportunityFactory(team=team, customer=_customer(team)),
        create=lambda crew: {
            "customer": _customer(crew.team_a).pk,
            "name": "New deal",
            "amount": "10.00",
            "stage": PipelineStageFactory(code="matrix-open").code,
        },  # fmt: skip
        change=_rename,
        expect={"rep": SALES_WORKER, "agent": NO_ACCESS, "manager": SALES_WORKER, "admin": ADMIN},
    ),
    "pipeline-stages": Resource(
        url="pipeline-stages",
        make=lambda crew, team: PipelineStageFactory(),
        create=lambda crew: {"code": "new-stage", "name": "New", "position": 50},
        change=_rename,
        expect={"rep": READER, "agent": NO_ACCESS, "manager": READER, "admin": ADMIN},
    ),
    "products": Resource(
        url="products",
        make=lambda crew, team: ProductFactory(),
        create=lambda crew: {
            "sku": "NEW-1",
            "name": "New",
            "product_line": ProductLineFactory().pk,
            "unit_price": "5.00",
        },  # fmt: skip
        change=_rename,
        expect={"rep": READER, "agent": NO_ACCESS, "manager": READER, "admin": ADMIN},
    ),
    "product-lines": Resource(
        url="product-lines",
        make=lambda crew, team: ProductLineFactory(),
        create=lambda crew: {"code": "new-line", "name": "New line"},
        change=_rename,
        expect={"rep": READER, "agent": NO_ACCESS, "manager": READER, "admin": ADMIN},
    ),
    # Orders follow their customer; agents read the orders of the customers they serve.
    "orders": Resource(
        url="orders",
        make=lambda crew, team: OrderFactory(customer=_customer(team)),
        create=lambda crew: {
            "customer": _customer(crew.team_a).pk,
            "ordered_at": "2026-01-05T10:00:00Z",
            "total": "10.00",
        },  # fmt: skip
        change=lambda record: {"channel": ChannelFactory().pk},
        expect={"rep": SALES_WORKER, "agent": TEAM_READER, "manager": SALES_WORKER, "admin": ADMIN},
    ),
    "activities": Resource(
        url="activities",
        make=lambda crew, team: ActivityFactory(team=team, customer=_customer(team)),
        create=lambda crew: {
            "kind": "call",
            "subject": "New",
            "customer": _customer(crew.team_a).pk,
        },
        change=lambda record: {"notes": "Left a message"},
        expect={
            "rep": SALES_ALL,
            "agent": E("own", 200, 404, 201, 200, 404, 403, 403),
            "manager": SALES_ALL,
            "admin": ADMIN,
        },
    ),
    "campaigns": Resource(
        url="campaigns",
        make=lambda crew, team: CampaignFactory(),
        create=lambda crew: {"name": "New campaign", "budget": "100.00"},
        change=lambda record: {"budget": "50.00"},
        expect={"rep": READER, "agent": NO_ACCESS, "manager": ADMIN, "admin": ADMIN},
    ),
    # Costs are the managers' (KPI inputs for the whole organisation), every team's.
    "marketing-spend": Resource(
        url="marketing-spend",
        make=lambda crew, team: MarketingSpendFactory(period_start=JAN, period_end=FEB),
        create=lambda crew: {
            "period_start": "2026-01-01",
            "period_end": "2026-02-01",
            "amount": "1",
        },
        change=lambda record: {"amount": "5.00"},
        expect={"rep": NO_ACCESS, "agent": NO_ACCESS, "manager": ADMIN, "admin": ADMIN},
    ),
    "sales-costs": Resource(
        url="sales-costs",
        make=lambda crew, team: SalesCostFactory(team=team, period_start=JAN, period_end=FEB),
        create=lambda crew: {
            "period_start": "2026-01-01",
            "period_end": "2026-02-01",
            "amount": "1",
            "team": crew.team_a.pk,
        },  # fmt: skip
        change=lambda record: {"amount": "5.00"},
        expect={"rep": NO_ACCESS, "agent": NO_ACCESS, "manager": ADMIN, "admin": ADMIN},
    ),
    "retention-cases": Resource(
        url="retention-cases",
        make=lambda crew, team: RetentionCaseFactory(customer=_customer(team)),
        create=lambda crew: {"customer": _customer(crew.team_a).pk, "reason": "Price"},
        change=lambda record: {"outreach": "Called"},
        expect={"rep": SALES_WORKER, "agent": NO_ACCESS, "manager": SALES_WORKER, "admin": ADMIN},
    ),
    # Reps read their customers' tickets; support staff work them.
    "tickets": Resource(
        url="tickets",
        make=lambda crew, team: TicketFactory(team=team, customer=_customer(team)),
        create=lambda crew: {
            "customer": _customer(crew.team_a).pk,
            "subject": "New",
            "body": "Broken",
            "team": crew.team_a.pk,
        },  # fmt: skip
        change=lambda record: {"subject": "Renamed"},
        expect={"rep": TEAM_READER, "agent": SALES_WORKER, "manager": SALES_WORKER, "admin": ADMIN},
    ),
    "sla-policies": Resource(
        url="sla-policies",
        make=lambda crew, team: SLAPolicyFactory(),
        create=lambda crew: {
            "name": "New",
            "schedule": BusinessScheduleFactory().pk,
            "first_response_minutes": 60,
            "resolution_minutes": 600,
        },  # fmt: skip
        change=_rename,
        expect={"rep": NO_ACCESS, "agent": READER, "manager": READER, "admin": ADMIN},
    ),
    "surveys": Resource(
        url="surveys",
        make=lambda crew, team: SurveyFactory(),
        create=lambda crew: {
            "name": "New survey",
            "kind": "csat",
            "question": "?",
            "trigger": "ticket_solved",
        },  # fmt: skip
        change=lambda record: {"is_active": False},
        expect={"rep": NO_ACCESS, "agent": READER, "manager": READER, "admin": ADMIN},
    ),
    # Invitations are created and read; their delivery state is the sending task's (no edit).
    "survey-invitations": Resource(
        url="survey-invitations",
        make=lambda crew, team: SurveyInvitationFactory(customer=_customer(team)),
        create=lambda crew: {"survey": SurveyFactory().pk, "customer": _customer(crew.team_a).pk},
        change=lambda record: {"status": "sent"},
        expect={
            "rep": NO_ACCESS,
            "agent": TEAM_READER,
            "manager": TEAM_READER,
            "admin": E("both", 200, 200, 201, 405, 405, 204, 204),
        },
    ),
    # Answers are re-recorded (PUT) by invitation or external id, never patched.
    "survey-responses": Resource(
        url="survey-responses",
        make=lambda crew, team: SurveyResponseFactory(
            customer=_customer(team), external_id=f"answer-{team.pk}"
        ),
        create=lambda crew: {
            "survey": SurveyFactory().pk,
            "customer": _customer(crew.team_a).pk,
            "score": 9,
        },
        change=lambda record: {
            "survey": record.survey_id,
            "customer": record.customer_id,
            "score": 7,
        },
        update_method="put",
        expect={"rep": TEAM_READER, "agent": TEAM_READER, "manager": TEAM_READER, "admin": ADMIN},
    ),
    # --- KPIs: snapshots and alerts are read within the KPI scope (kpi_scope_for): the manager
    # of team A reads team A's cells; the admin (no team) reads the organisation --------------
    "kpis/snapshots": Resource(
        url="kpis/snapshots",
        make=_kpi_snapshot,
        create=lambda crew: {},
        change=lambda record: {"value": "1"},
        expect={
            "rep": NO_ACCESS,
            "agent": NO_ACCESS,
            "manager": E("own", 200, 404, 403, 403, 403, 403, 403),
            "admin": E("both", 200, 200, 405, 405, 405, 405, 405),
        },
    ),
    "kpis/index": Resource(
        url="kpis/index",
        make=_index_snapshot,
        create=lambda crew: {},
        change=lambda record: {"value": "1"},
        # The index is an organisation figure: a team-scoped manager has none.
        expect={
            "rep": NO_ACCESS,
            "agent": NO_ACCESS,
            "manager": E("none", 404, 404, 403, 403, 403, 403, 403),
            "admin": E("both", 200, 200, 405, 405, 405, 405, 405),
        },
    ),
    # Managers work alerts (acknowledge, resolve: see the action matrix); nobody edits one.
    "kpis/alerts": Resource(
        url="kpis/alerts",
        make=_alert,
        create=lambda crew: {},
        change=lambda record: {"state": "resolved"},
        expect={
            "rep": NO_ACCESS,
            "agent": NO_ACCESS,
            "manager": E("own", 200, 404, 405, 405, 405, 403, 403),
            "admin": E("both", 200, 200, 405, 405, 405, 405, 405),
        },
    ),
    "kpis/targets": Resource(
        url="kpis/targets",
        make=_target,
        create=lambda crew: {
            "kpi": "revenue",
            "granularity": "month",
            "period_start": "2026-06-01",
            "kind": "absolute",
            "amount": "5000",
        },  # fmt: skip
        change=lambda record: {"notes": "Stretch goal"},
        expect={"rep": NO_ACCESS, "agent": NO_ACCESS, "manager": EDITOR, "admin": ADMIN},
    ),
    "kpis/alert-rules": Resource(
        url="kpis/alert-rules",
        make=lambda crew, team: AlertRule.objects.create(
            name=f"Rule {team.name}", kpi="revenue", granularity="month", lower_threshold=1
        ),
        create=lambda crew: {
            "name": "New rule",
            "kpi": "revenue",
            "granularity": "month",
            "lower_threshold": "1",
        },  # fmt: skip
        change=_rename,
        expect={"rep": NO_ACCESS, "agent": NO_ACCESS, "manager": EDITOR, "admin": ADMIN},
    ),
    # The weights are an admin decision; a version is never deleted (history points at it).
    "kpis/weight-versions": Resource(
        url="kpis/weight-versions",
        make=lambda crew, team: WeightVersion.objects.create(name=f"Draft {team.name}"),
        create=lambda crew: {"name": "New draft"},
        change=_rename,
        expect={
            "rep": NO_ACCESS,
            "agent": NO_ACCESS,
            "manager": READER,
            "admin": E("both", 200, 200, 201, 200, 200, 405, 405),
        },
    ),
}


def _expected(resource: Resource, role: str) -> E:
    return ANONYMOUS if role == "anonymous" else resource.expect[role]


def _listed(response: Any, own: Model, other: Model) -> str | int:
    if response.status_code != 200:
        return response.status_code
    ids = {row["id"] for row in response.json()["results"]}
    return {
        (True, True): "both",
        (True, False): "own",
        (False, True): "other",
        (False, False): "none",
    }[(own.pk in ids, other.pk in ids)]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", sorted(RESOURCES))
def test_permission_matrix(crew, client_as, name, role):
    resource = RESOURCES[name]
    own = resource.make(crew, crew.team_a)
    other = resource.make(crew, crew.team_b)
    client = client_as(None if role == "anonymous" else getattr(crew, role))
    base = f"/api/v1/{resource.url}/"
    update = getattr(client, resource.update_method)

    actual = E(
        list=_listed(client.get(base), own, other),
        get_own=client.get(f"{base}{own.pk}/").status_code,
        get_other=client.get(f"{base}{other.pk}/").status_code,
        create=client.post(base, resource.create(crew), format="json").status_code,
        update_own=update(f"{base}{own.pk}/", resource.change(own), format="json").status_code,
        update_other=update(
            f"{base}{other.pk}/", resource.change(other), format="json"
        ).status_code,
        delete_own=client.delete(f"{base}{own.pk}/").status_code,
        delete_other=client.delete(f"{base}{other.pk}/").status_code,
    )

    assert actual._asdict() == _expected(resource, role)._asdict()


def test_every_registered_resource_is_in_the_matrix():
    """A resource added to a router without a row here fails, rather than going unchecked."""
    from customers.api.urls import router as customer_router
    from kpis.api.urls import router as kpi_router
    from sales.api.urls import router as sales_router
    from support.api.urls import router as support_router
    from surveys.api.urls import router as survey_router

    registered = {
        prefix
        for router in (customer_router, sales_router, support_router, survey_router)
        for prefix, _viewset, _basename in router.registry
    } | {f"kpis/{prefix}" for prefix, _viewset, _basename in kpi_router.registry}

    # The catalogue has no rows of its own: test_kpi_catalogue_is_open_to_every_role.
    assert registered - {"kpis/catalogue"} == set(RESOURCES)


@pytest.mark.parametrize("role", ROLES)
def test_kpi_catalogue_is_open_to_every_role(crew, client_as, role):
    client = client_as(None if role == "anonymous" else getattr(crew, role))
    expected = (401, 401, 401) if role == "anonymous" else (200, 200, 405)

    actual = (
        client.get("/api/v1/kpis/catalogue/").status_code,
        client.get("/api/v1/kpis/catalogue/revenue/").status_code,
        client.post("/api/v1/kpis/catalogue/", {}).status_code,
    )

    assert actual == expected


# --- the actions of a record: (own, other) status per role ---------------------------------------


@dataclass(frozen=True)
class RecordAction:
    url: str  # "<resource>/{pk}/<action>/"
    make: Callable[[Any, Any], Any]
    method: str = "post"
    body: Callable[[Any], dict[str, Any]] = lambda crew: {}
    expect: dict[str, tuple[int, int]] = field(default_factory=dict)


def _open_stages() -> None:
    PipelineStageFactory(code="matrix-first", position=0)
    PipelineStageFactory(code="matrix-next", position=1)


def _lead_with_stages(crew: Any, team: Any) -> Any:
    _open_stages()
    return LeadFactory(team=team)


def _deal_in_first_stage(crew: Any, team: Any) -> Any:
    _open_stages()
    return OpportunityFactory(
        team=team, customer=_customer(team), stage=PipelineStageFactory(code="matrix-first")
    )


def _open_ticket(crew: Any, team: Any) -> Any:
    return TicketFactory(team=team, customer=_customer(team), status="open")


SALES_ACTION = {"rep": (200, 404), "agent": (403, 403), "manager": (200, 404), "admin": (200, 200)}
SUPPORT_ACTION = {
    "rep": (403, 403),
    "agent": (200, 404),
    "manager": (200, 404),
    "admin": (200, 200),
}
TICKET_READ = {"rep": (200, 404), "agent": (200, 404), "manager": (200, 404), "admin": (200, 200)}
MANAGER_KPI = {"rep": (403, 403), "agent": (403, 403), "manager": (200, 404), "admin": (200, 200)}

ACTIONS: dict[str, RecordAction] = {
    "leads/set-status": RecordAction(
        url="leads/{pk}/set-status/",
        make=lambda crew, team: LeadFactory(team=team),
        body=lambda crew: {"status": "qualified"},
        expect=SALES_ACTION,
    ),
    "leads/convert": RecordAction(
        url="leads/{pk}/convert/",
        make=_lead_with_stages,
        expect={"rep": (201, 404), "agent": (403, 403), "manager": (201, 404), "admin": (201, 201)},
    ),
    "opportunities/move-stage": RecordAction(
        url="opportunities/{pk}/move-stage/",
        make=_deal_in_first_stage,
        body=lambda crew: {"to_stage": "matrix-next"},
        expect=SALES_ACTION,
    ),
    "opportunities/stage-history": RecordAction(
        url="opportunities/{pk}/stage-history/",
        make=lambda crew, team: OpportunityFactory(team=team, customer=_customer(team)),
        method="get",
        expect=SALES_ACTION,
    ),
    "orders/cancel": RecordAction(
        url="orders/{pk}/cancel/",
        make=lambda crew, team: OrderFactory(customer=_customer(team)),
        expect=SALES_ACTION,
    ),
    # Refunds are money going out: managers and admins, not reps.
    "orders/refund": RecordAction(
        url="orders/{pk}/refund/",
        make=lambda crew, team: OrderFactory(customer=_customer(team)),
        body=lambda crew: {"amount": "1.00"},
        expect={"rep": (403, 403), "agent": (403, 403), "manager": (200, 404), "admin": (200, 200)},
    ),
    "activities/complete": RecordAction(
        url="activities/{pk}/complete/",
        make=lambda crew, team: ActivityFactory(team=team, customer=_customer(team)),
        expect={"rep": (200, 404), "agent": (200, 404), "manager": (200, 404), "admin": (200, 200)},
    ),
    "retention-cases/close": RecordAction(
        url="retention-cases/{pk}/close/",
        make=lambda crew, team: RetentionCaseFactory(customer=_customer(team)),
        body=lambda crew: {"outcome": "retained"},
        expect=SALES_ACTION,
    ),
    "tickets/transition": RecordAction(
        url="tickets/{pk}/transition/",
        make=_open_ticket,
        body=lambda crew: {"to_status": "solved"},
        expect=SUPPORT_ACTION,
    ),
    "tickets/messages (read)": RecordAction(
        url="tickets/{pk}/messages/",
        make=lambda crew, team: TicketFactory(team=team, customer=_customer(team)),
        method="get",
        expect=TICKET_READ,
    ),
    "tickets/messages (write)": RecordAction(
        url="tickets/{pk}/messages/",
        make=lambda crew, team: TicketFactory(team=team, customer=_customer(team)),
        body=lambda crew: {"body": "On it", "author_kind": "agent"},
        expect={"rep": (403, 403), "agent": (201, 404), "manager": (201, 404), "admin": (201, 201)},
    ),
    "tickets/status-history": RecordAction(
        url="tickets/{pk}/status-history/",
        make=lambda crew, team: TicketFactory(team=team, customer=_customer(team)),
        method="get",
        expect=TICKET_READ,
    ),
    # KPI rows of team A's and team B's cells: the manager of team A reads team A's.
    "kpis/snapshots/drilldown": RecordAction(
        url="kpis/snapshots/{pk}/drilldown/",
        make=_kpi_snapshot,
        method="get",
        expect=MANAGER_KPI,
    ),
    "kpis/alerts/acknowledge": RecordAction(
        url="kpis/alerts/{pk}/acknowledge/", make=_alert, expect=MANAGER_KPI
    ),
    "kpis/alerts/resolve": RecordAction(
        url="kpis/alerts/{pk}/resolve/", make=_alert, expect=MANAGER_KPI
    ),
    "kpis/weight-versions/activate": RecordAction(
        url="kpis/weight-versions/{pk}/activate/",
        make=lambda crew, team: WeightVersion.objects.create(name=f"Draft {team.name}"),
        # Activating an empty draft is refused by the service (400): only admins get that far.
        expect={"rep": (403, 403), "agent": (403, 403), "manager": (403, 403), "admin": (400, 400)},
    ),
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", sorted(ACTIONS))
def test_action_permission_matrix(crew, client_as, name, role):
    record_action = ACTIONS[name]
    own = record_action.make(crew, crew.team_a)
    other = record_action.make(crew, crew.team_b)
    client = client_as(None if role == "anonymous" else getattr(crew, role))
    call = getattr(client, record_action.method)

    def status(record: Model) -> int:
        url = "/api/v1/" + record_action.url.format(pk=record.pk)
        if record_action.method == "get":
            return call(url).status_code
        return call(url, record_action.body(crew), format="json").status_code

    expected = (401, 401) if role == "anonymous" else record_action.expect[role]
    assert (status(own), status(other)) == expected

"""The targets and alert-rule pages: managers and admins only, limited to their KPI scope (another
team's target or rule is a 404), service messages next to the fields, redirect after saving."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation

from kpis.models import AlertRule, KpiSnapshot, Target
from kpis.periods import local_today, period_bounds
from kpis.targets import period_end_of, period_shift
from tests.customers.factories import TeamFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_default_alert_rules")]

TARGETS = reverse("kpis:targets")
RULES = reverse("kpis:alert_rules")


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def teams():
    return TeamFactory(name="North"), TeamFactory(name="South")


@pytest.fixture
def north_manager(client, teams):
    """A manager of North only: their KPI scope is North and its people."""
    user = UserFactory(username="nora", role="Manager")
    teams[0].manager = user
    teams[0].save()
    client.force_login(user)
    return user


@pytest.fixture
def org_manager(client):
    user = UserFactory(username="olga", role="Manager")  # in no team: the organisation
    client.force_login(user)
    return user


def quarter_starts() -> tuple[dt.date, dt.date]:
    this_quarter = period_bounds("quarter", local_today())[0]
    return this_quarter, period_shift("quarter", this_quarter, 1)


@pytest.mark.parametrize("role", ["Sales rep", "Support agent"])
@pytest.mark.parametrize(
    "url", [TARGETS, RULES, reverse("kpis:target_sentence"), reverse("kpis:target_edit", args=[1])]
)
def test_reps_and_agents_cannot_reach_the_pages(client, role, url):
    client.force_login(UserFactory(role=role))
    assert client.get(url).status_code == 403
    assert client.post(url, {}).status_code == 403


def test_anonymous_goes_to_login(client):
    assert client.get(TARGETS).status_code == 302


def test_manager_sets_churn_minus_5_percent_next_quarter(client, org_manager):
    this_quarter, next_quarter = quarter_starts()
    KpiSnapshot.objects.create(
        kpi="churn_rate",
        granularity="quarter",
        period_start=this_quarter,
        period_end=period_end_of("quarter", this_quarter),
        value=Decimal("0.25"),
    )
    form = {
        "kpi": "churn_rate",
        "scope": "all:",
        "granularity": "quarter",
        "period_start": (next_quarter + dt.timedelta(days=20)).isoformat(),  # snapped
        "kind": "relative_change_pct",
        "amount": "-5",
    }

    preview = client.get(reverse("kpis:target_sentence"), form).json()
    response = client.post(TARGETS, form)

    target = Target.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"{TARGETS}?granularity=quarter"
    assert (target.period_start, target.baseline_period_start) == (next_quarter, this_quarter)
    assert target.amount == Decimal("-5")
    assert target.created_by == org_manager
    quarter = f"Q{(next_quarter.month - 1) // 3 + 1} {next_quarter.year}"
    # 25 % × 0.95 = 23.75 % → 23.8 %.
    assert preview["sentence"].endswith(f"→ 23.8 % (−5 % relative) for {quarter}")
    page = client.get(response["Location"]).content.decode()
    assert f"→ 23.8 % (−5 % relative) for {quarter}" in page
    assert "Starts in" in page  # next quarter has not started


def test_an_absolute_rate_is_typed_in_percent_and_stored_as_a_fraction(client, org_manager):
    _this, next_quarter = quarter_starts()
    client.post(
        TARGETS,
        {
            "kpi": "churn_rate",
            "scope": "all:",
            "granularity": "quarter",
            "period_start": next_quarter.isoformat(),
            "kind": "absolute",
            "amount": "20",
        },
    )
    assert Target.objects.get().amount == Decimal("0.2")


def test_a_duplicate_target_is_refused_next_to_the_period(client, org_manager):
    _this, next_quarter = quarter_starts()
    form = {
        "kpi": "nps",
        "scope": "all:",
        "granularity": "quarter",
        "period_start": next_quarter.isoformat(),
        "kind": "absolute",
        "amount": "40",
    }
    client.post(TARGETS, form)

    response = client.post(TARGETS, {**form, "amount": "45"})

    assert response.status_code == 200
    assert "already has a target" in response.content.decode()
    assert Target.objects.get().amount == Decimal("40")


def test_a_point_change_on_money_shows_the_service_message(client, org_manager):
    _this, next_quarter = quarter_starts()
    response = client.post(
        TARGETS,
        {
            "kpi": "revenue",
            "scope": "all:",
            "granularity": "quarter",
            "period_start": next_quarter.isoformat(),
            "kind": "pp_change",
            "amount": "5",
        },
    )
    assert "applies to rates and NPS only" in response.content.decode()
    assert not Target.objects.exists()


def test_a_team_manager_sets_only_their_teams_and_sees_only_theirs(client, north_manager, teams):
    north, south = teams
    _this, next_quarter = quarter_starts()
    south_target = Target.objects.create(
        kpi="revenue", granularity="quarter", period_start=next_quarter, kind="absolute",
        amount=Decimal("100"), dimension="team", dimension_value=str(south.pk),
    )  # fmt: skip
    base = {
        "kpi": "revenue",
        "granularity": "quarter",
        "period_start": next_quarter.isoformat(),
        "kind": "absolute",
        "amount": "500",
    }

    company = client.post(TARGETS, {**base, "scope": "all:"})
    other_team = client.post(TARGETS, {**base, "scope": f"team:{south.pk}"})
    own_team = client.post(TARGETS, {**base, "scope": f"team:{north.pk}"})

    assert "Select a valid choice" in company.content.decode()
    assert "Select a valid choice" in other_team.content.decode()
    assert own_team.status_code == 302
    page = client.get(TARGETS + "?granularity=quarter")
    assert [row["target"].dimension_value for row in page.context["rows"]] == [str(north.pk)]
    assert client.get(reverse("kpis:target_edit", args=[south_target.pk])).status_code == 404
    assert client.post(reverse("kpis:target_delete", args=[south_target.pk])).status_code == 404
    assert Target.objects.filter(pk=south_target.pk).exists()


def test_edit_and_delete_a_target(client, org_manager):
    _this, next_quarter = quarter_starts()
    target = Target.objects.create(
        kpi="nps", granularity="quarter", period_start=next_quarter, kind="absolute",
        amount=Decimal("40"),
    )  # fmt: skip
    edit = reverse("kpis:target_edit", args=[target.pk])
    assert client.get(edit).context["form"].initial["amount"] == Decimal("40")

    client.post(
        edit,
        {
            "kpi": "nps",
            "scope": "all:",
            "granularity": "quarter",
            "period_start": next_quarter.isoformat(),
            "kind": "pp_change",
            "amount": "3",
        },
    )
    target.refresh_from_db()
    assert (target.kind, target.amount) == ("pp_change", Decimal("3"))
    assert target.baseline_period_start == period_shift("quarter", next_quarter, -1)

    client.post(reverse("kpis:target_delete", args=[target.pk]))
    assert not Target.objects.exists()


def test_the_page_opens_on_a_granularity_that_has_targets(client, org_manager):
    _this, next_quarter = quarter_starts()
    Target.objects.create(
        kpi="nps", granularity="quarter", period_start=next_quarter, kind="absolute",
        amount=Decimal("40"),
    )  # fmt: skip
    assert client.get(TARGETS).context["granularity"] == "quarter"
    assert client.get(TARGETS + "?granularity=month").context["granularity"] == "month"


def test_target_list_queries_do_not_grow_with_targets(
    client, org_manager, teams, django_assert_max_num_queries
):
    this_quarter, _next = quarter_starts()
    for number in range(8):
        Target.objects.create(
            kpi="revenue", granularity="quarter",
            period_start=period_shift("quarter", this_quarter, -number), kind="relative_change_pct",
            amount=Decimal("5"), dimension="team", dimension_value=str(teams[number % 2].pk),
            baseline_period_start=period_shift("quarter", this_quarter, -number - 1),
        )  # fmt: skip
    with django_assert_max_num_queries(20):
        response = client.get(TARGETS)
    assert len(response.context["rows"]) == 8


# --- alert rules -----------------------------------------------------------------------------


def rule_form(**fields):
    return {
        "name": "NPS falls",
        "kpi": "nps",
        "scope": "all:",
        "granularity": "month",
        "condition": "change_abs",
        "threshold": "-10",
        "min_sample": "30",
        "fire_after": "2",
        "resolve_after": "1",
        "hysteresis": "",
        "recipient_roles": ["Manager"],
        "notify_in_app": "on",
        "notify_email": "on",
        "is_active": "on",
        **fields,
    }


def test_manager_creates_a_rule_in_display_units(client, org_manager):
    response = client.post(RULES, rule_form())
    sla = client.post(
        RULES,
        rule_form(
            name="SLA",
            kpi="sla_first_response_attainment",
            condition="below",
            threshold="90",
            hysteresis="1",
        ),
    )

    assert response.status_code == 302
    assert sla.status_code == 302
    nps = AlertRule.objects.get(name="NPS falls")
    assert (nps.change_abs, nps.min_sample, nps.fire_after) == (Decimal("-10"), 30, 2)
    assert nps.recipient_roles == ["Manager"]
    assert nps.created_by == org_manager
    # 90 % and 1 point typed; stored as fractions.
    stored = AlertRule.objects.get(name="SLA")
    assert (stored.lower_threshold, stored.hysteresis) == (Decimal("0.9"), Decimal("0.01"))
    page = client.get(RULES).content.decode()
    assert "below 90.0 %" in page
    assert "listed first and notifies at once" in page


def test_a_rule_needs_a_number_and_a_channel(client, org_manager):
    no_number = client.post(RULES, rule_form(threshold=""))
    no_channel = client.post(RULES, rule_form(notify_in_app="", notify_email=""))

    assert "This condition needs a number." in no_number.content.decode()
    assert "Choose in-app, e-mail or both." in no_channel.content.decode()
    assert not AlertRule.objects.exists()


def test_misses_target_needs_no_number(client, org_manager):
    client.post(RULES, rule_form(condition="misses_target", threshold="", kpi="churn_rate"))
    assert AlertRule.objects.get().misses_target


def test_a_team_manager_manages_only_their_teams_rules(client, north_manager, teams):
    north, south = teams
    south_rule = AlertRule.objects.create(
        name="South", kpi="revenue", granularity="month", lower_threshold=1,
        dimension="team", dimension_value=str(south.pk),
    )  # fmt: skip

    refused = client.post(RULES, rule_form(scope=f"team:{south.pk}"))
    allowed = client.post(RULES, rule_form(scope=f"team:{north.pk}", recipient_roles=[]))

    assert "Select a valid choice" in refused.content.decode()
    assert allowed.status_code == 302
    assert [row["rule"].name for row in client.get(RULES).context["rows"]] == ["NPS falls"]
    assert client.get(reverse("kpis:alert_rule_edit", args=[south_rule.pk])).status_code == 404
    delete = client.post(reverse("kpis:alert_rule_delete", args=[south_rule.pk]))
    assert delete.status_code == 404
    # Team choices are the manager's own teams only.
    form = client.get(RULES).context["form"]
    assert [value for value, _label in form.fields["recipient_teams"].choices] == [str(north.pk)]


def test_edit_and_delete_a_rule(client, org_manager):
    client.post(RULES, rule_form())
    rule = AlertRule.objects.get()
    edit = reverse("kpis:alert_rule_edit", args=[rule.pk])
    assert client.get(edit).context["form"].initial["threshold"] == Decimal("-10")

    client.post(edit, rule_form(condition="unusual", threshold="", notify_email=""))
    rule.refresh_from_db()
    assert (rule.unusual, rule.change_abs, rule.notify_email) == (True, None, False)

    client.post(reverse("kpis:alert_rule_delete", args=[rule.pk]))
    assert not AlertRule.objects.exists()

"""The digest e-mail end to end: snapshots computed by the engine, the beat task run at send
time, the captured mail checked against the stored figures; idempotent re-runs; scope checks."""

import re
from email import message_from_bytes

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import Client

from crm.templatetags.pulse import kpi_value
from kpis.models import KpiSnapshot
from reports.digests import (
    digest_build,
    digest_subscription_create,
    digest_subscriptions_default,
)
from reports.models import DigestSendLog
from reports.services import annotation_create
from reports.tasks import send_due_digests
from tests.reports.conftest import MARCH, SEND_TIME, SITE

pytestmark = pytest.mark.django_db


def snapshot(kpi, dimension="all", value="", period=MARCH):
    return KpiSnapshot.objects.get(
        kpi=kpi,
        granularity="month",
        period_start=period,
        dimension=dimension,
        dimension_value=str(value),
    )


def html_of(message) -> str:
    return next(body for body, mimetype in message.alternatives if mimetype == "text/html")


def inline_images(message) -> dict[str, bytes]:
    """{Content-ID: PNG bytes} of the image/png parts of the MIME message as sent."""
    parsed = message_from_bytes(message.message().as_bytes())
    return {
        part["Content-ID"].strip("<>"): part.get_payload(decode=True)
        for part in parsed.walk()
        if part.get_content_type() == "image/png"
    }


@pytest.fixture
def subscribed(snapshots):
    people = snapshots
    digest_subscription_create(
        user=people["manager"], frequency="monthly", scope="company", kpi_keys=["revenue"]
    )
    digest_subscription_create(
        user=people["ann"],
        frequency="monthly",
        scope="own",
        kpi_keys=["revenue", "activities_logged"],
    )
    digest_subscription_create(
        user=people["agent"],
        frequency="weekly",
        scope="team",
        team=people["north"],
        stages=["service"],
    )
    return people


@time_machine.travel(SEND_TIME, tick=False)
def test_monthly_digests_go_to_each_subscriber_with_their_scope_figures(subscribed):
    ann, manager = subscribed["ann"], subscribed["manager"]

    result = send_due_digests.delay().get()

    # 1 April is a Wednesday: the monthly digests are due, the weekly one is not.
    assert result == {"sent": 2, "skipped": 0, "failed": 0}
    by_recipient = {message.to[0]: message for message in mail.outbox}
    assert set(by_recipient) == {manager.email, ann.email}
    company = by_recipient[manager.email]
    own = by_recipient[ann.email]
    # company revenue: 4 March orders × 100.00 = 400.00; Ann's own: 3 × 100.00 = 300.00
    assert snapshot("revenue").value == 400
    assert snapshot("revenue", "owner", ann.pk).value == 300
    assert kpi_value(snapshot("revenue").value, "money") in company.body
    assert kpi_value(snapshot("revenue", "owner", ann.pk).value, "money") in own.body
    assert 'data-value="300.000000"' in html_of(own)
    assert 'data-value="400.000000"' in html_of(company)
    # Ann's 4 activities done in March
    assert 'data-value="4.000000"' in html_of(own)
    assert own.from_email == "Pulse digests <digests@example.com>"


@time_machine.travel(SEND_TIME, tick=False)
def test_digest_compares_with_previous_month_and_a_year_earlier(subscribed):
    ann = subscribed["ann"]

    send_due_digests.delay().get()

    own = next(message for message in mail.outbox if message.to == [ann.email])
    revenue_line = next(line for line in own.body.splitlines() if "vs previous period" in line)
    # Ann: March 300.00 − February 100.00 = +200.00; March 2025 200.00 → +100.00
    assert "+200.00" in revenue_line
    assert "+100.00" in revenue_line


@time_machine.travel(SEND_TIME, tick=False)
def test_each_kpi_chart_is_an_inline_png_referenced_by_content_id(subscribed):
    ann = subscribed["ann"]

    send_due_digests.delay().get()

    own = next(message for message in mail.outbox if message.to == [ann.email])
    images = inline_images(own)
    assert set(images) == {"kpi-revenue-2026-03-01", "kpi-activities_logged-2026-03-01"}
    assert all(png.startswith(b"\x89PNG") for png in images.values())
    html = html_of(own)
    for content_id in images:
        assert f'src="cid:{content_id}"' in html
    assert message_from_bytes(own.message().as_bytes()).get_content_type() == "multipart/related"


@time_machine.travel(SEND_TIME, tick=False)
def test_links_open_the_kpi_page_at_the_period_and_scope(subscribed):
    ann, manager = subscribed["ann"], subscribed["manager"]

    send_due_digests.delay().get()

    own = next(message for message in mail.outbox if message.to == [ann.email])
    company = next(message for message in mail.outbox if message.to == [manager.email])
    # The parameters the KPI page reads (kpis.forms.parse_filters): the scope's dimension is its
    # own parameter, and the company scope has none.
    assert (
        f"{SITE}/kpis/kpi/revenue/?granularity=month&amp;period=2026-03-01&amp;owner={ann.pk}"
        in html_of(own)
    )
    assert f"{SITE}/kpis/kpi/revenue/?granularity=month&period=2026-03-01\n" in company.body + "\n"


@time_machine.travel(SEND_TIME, tick=False)
def test_following_a_digest_link_shows_that_period_and_scope_selected(snapshots):
    """The link is built by the KPI page's own filters; the page reads it back as sent."""
    north, reader = snapshots["north"], snapshots["manager"]
    subscription = digest_subscription_create(
        user=reader, frequency="monthly", scope="team", team=north, kpi_keys=["revenue"]
    )
    (figure,) = digest_build(subscription=subscription, period_start=MARCH).figures
    assert figure.link.startswith(SITE)
    browser = Client()
    browser.force_login(reader)

    response = browser.get(figure.link.removeprefix(SITE))

    assert response.status_code == 200
    filters = response.context["filters"]
    assert (filters.granularity, filters.period) == ("month", MARCH)
    assert (filters.dimension, filters.value) == ("team", str(north.pk))
    html = response.content.decode()
    assert 'name="period" id="id_period" value="2026-03-01"' in html
    assert f'<option value="{north.pk}" selected>' in html
    # The period table ends at the linked period, newest first.
    assert response.context["tables"][0].rows[0][0].text == "2026-03-01"


@time_machine.travel(SEND_TIME, tick=False)
def test_a_rerun_sends_nothing_twice(subscribed):
    send_due_digests.delay().get()
    sent = len(mail.outbox)

    again = send_due_digests.delay().get()

    assert again == {"sent": 0, "skipped": 2, "failed": 0}
    assert len(mail.outbox) == sent == 2
    logs = DigestSendLog.objects.filter(status="sent")
    assert logs.count() == 2
    assert {log.period_start for log in logs} == {MARCH}
    ann_log = logs.get(subscription__user=subscribed["ann"])
    assert ann_log.kpi_keys == ["revenue", "activities_logged"]


def test_weekly_digests_go_out_on_monday_for_the_last_iso_week(subscribed):
    agent = subscribed["agent"]
    # Monday 30 March 2026: the week of 23 March just closed (no snapshots of it are stored).
    with time_machine.travel(SEND_TIME.replace(month=3, day=30), tick=False):
        result = send_due_digests.delay().get()

    # Without stored figures of that week there is nothing to say yet: skipped, not logged.
    assert result["sent"] == 0
    assert not DigestSendLog.objects.filter(subscription__user=agent).exists()


@time_machine.travel(SEND_TIME, tick=False)
def test_annotations_and_alerts_of_the_period_are_in_the_digest(subscribed):
    from kpis.engine import compute_period
    from kpis.services import alert_rule_create

    manager = subscribed["manager"]
    annotation_create(
        text="Spring campaign",
        kind="campaign",
        starts_on=MARCH,
        ends_on=MARCH.replace(day=15),
        actor=manager,
    )
    alert_rule_create(
        name="Revenue floor",
        kpi="revenue",
        granularity="month",
        lower_threshold="1000",
        recipients=[manager],
    )
    # evaluates the new rule: 400.00 < 1000 fires
    compute_period(granularity="month", period_start=MARCH, kpi_keys=["revenue"])

    send_due_digests.delay().get()

    company = next(message for message in mail.outbox if message.to == [manager.email])
    assert "Spring campaign" in company.body
    assert "Revenue floor" in company.body
    assert "Revenue floor" in html_of(company)


def test_digest_reads_a_fixed_number_of_queries(subscribed, django_assert_max_num_queries):
    subscription = subscribed["manager"].digest_subscriptions.get()
    subscription.stages = ["acquisition", "enhancement", "retention", "service"]
    subscription.save()

    with django_assert_max_num_queries(12):
        digest = digest_build(subscription=subscription, period_start=MARCH)

    assert len(digest.figures) > 10


# --- subscriptions: what a role may receive -------------------------------------------------


def test_a_rep_cannot_subscribe_to_company_figures(people):
    with pytest.raises(ValidationError) as error:
        digest_subscription_create(user=people["ann"], frequency="weekly", scope="company")

    assert "scope" in error.value.message_dict
    assert "does not allow company figures" in error.value.message_dict["scope"][0]


def test_a_rep_cannot_subscribe_to_a_kpi_without_own_figures(people):
    # CAC is broken down by channel and team only: a rep's own CAC does not exist.
    with pytest.raises(ValidationError) as error:
        digest_subscription_create(
            user=people["ann"], frequency="weekly", scope="own", kpi_keys=["cac", "revenue"]
        )

    assert error.value.message_dict["kpi_keys"][0].startswith("cac: no own figures")


def test_team_scope_needs_a_team_of_the_user(people):
    other = type(people["north"]).objects.create(name="South")

    with pytest.raises(ValidationError) as error:
        # Sam, a support agent of North, reads North's service figures and no other team's.
        digest_subscription_create(
            user=people["agent"], frequency="weekly", scope="team", team=other, stages=["service"]
        )

    assert "not a member or manager of the team South" in error.value.message_dict["team"][0]


def test_unknown_kpi_stage_and_frequency_are_refused(people):
    with pytest.raises(ValidationError) as error:
        digest_subscription_create(
            user=people["manager"],
            frequency="hourly",
            scope="company",
            kpi_keys=["happiness"],
            stages=["nirvana"],
        )

    messages = error.value.message_dict
    assert set(messages) == {"frequency", "kpi_keys", "stages"}
    assert "happiness" in messages["kpi_keys"][0]


def test_role_defaults(people):
    manager = digest_subscriptions_default(people["manager"])
    rep = digest_subscriptions_default(people["ann"])
    agent = digest_subscriptions_default(people["agent"])

    assert sorted((s.frequency, s.scope, bool(s.stages)) for s in manager) == [
        ("daily", "company", False),
        ("monthly", "company", True),
    ]
    assert [(s.frequency, s.scope, s.stages) for s in rep] == [("weekly", "own", ["pipeline"])]
    assert [(s.frequency, s.scope, s.team, s.stages) for s in agent] == [
        ("weekly", "team", people["north"], ["service"])
    ]
    # created once: a second call keeps what exists
    assert len(digest_subscriptions_default(people["ann"])) == 1


def test_unsubscribe_tokens_are_long_and_distinct(people):
    first = digest_subscription_create(
        user=people["ann"], frequency="weekly", scope="own", stages=["pipeline"]
    )
    second = digest_subscription_create(
        user=people["bob"], frequency="weekly", scope="own", stages=["pipeline"]
    )

    assert first.unsubscribe_token != second.unsubscribe_token
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", first.unsubscribe_token)


@time_machine.travel(SEND_TIME, tick=False)
def test_the_digest_is_written_in_the_subscribers_language(snapshots):
    ann = snapshots["ann"]
    digest_subscription_create(
        user=ann, frequency="monthly", scope="own", kpi_keys=["revenue"], language="zh-hans"
    )

    send_due_digests.delay().get()

    (message,) = mail.outbox
    # the period is named the Chinese way: 2026年3月
    assert "2026年3月" in message.subject
    assert 'lang="zh-hans"' in html_of(message)


def test_an_unknown_language_is_refused(people):
    with pytest.raises(ValidationError) as error:
        digest_subscription_create(
            user=people["ann"], frequency="weekly", scope="own", stages=["pipeline"], language="xx"
        )

    assert "Unknown language xx" in error.value.message_dict["language"][0]


def test_daily_alert_summary_lists_yesterdays_alerts_only_when_there_are_some(people):
    from kpis.engine import compute_period
    from kpis.services import alert_rule_create
    from tests.reports.conftest import local
    from tests.sales.factories import OrderFactory

    manager, bob = people["manager"], people["bob"]
    digest_subscription_create(user=manager, frequency="daily", scope="company")
    digest_subscription_create(user=bob, frequency="daily", scope="own", kpi_keys=["orders"])
    alert_rule_create(
        name="Too few orders",
        kpi="orders",
        granularity="day",
        lower_threshold="5",
        recipients=[manager],
    )
    OrderFactory(customer__owner=manager, ordered_at=local(2026, 3, 31, 10))
    # the open day is computed in the afternoon: 1 order < 5 fires the rule on 31 March
    with time_machine.travel(local(2026, 3, 31, 15), tick=False):
        compute_period(granularity="day", period_start=MARCH.replace(day=31), kpi_keys=["orders"])
    mail.outbox.clear()  # the alert's own notification e-mail

    with time_machine.travel(SEND_TIME, tick=False):
        result = send_due_digests.delay().get()

    # Bob has no own order figure for 31 March: nothing to say, nothing sent
    assert result == {"sent": 1, "skipped": 1, "failed": 0}
    (summary,) = mail.outbox
    assert summary.to == [manager.email]
    assert "Too few orders" in summary.body
    # English dates read "31 Mar 2026" (crm/formats/en)
    assert "31 Mar 2026" in summary.subject


@time_machine.travel(SEND_TIME, tick=False)
def test_the_index_band_is_shown_to_those_who_may_see_company_figures(subscribed):
    from decimal import Decimal

    from kpis.models import IndexSnapshot, WeightVersion

    # The engine stored March's index unpublished (coverage of 6 KPIs is too low); as if
    # the whole catalogue had been computed:
    stored = IndexSnapshot.objects.get(
        granularity="month", period_start=MARCH, version=WeightVersion.objects.get(status="active")
    )
    IndexSnapshot.objects.filter(pk=stored.pk).update(
        value=Decimal("81.50"), coverage=Decimal("0.9"), band="green", published=True
    )

    send_due_digests.delay().get()

    by_recipient = {message.to[0]: message for message in mail.outbox}
    company = by_recipient[subscribed["manager"].email]
    own = by_recipient[subscribed["ann"].email]
    assert 'data-index-band="green"' in html_of(company)
    assert "81.50 (band green)" in company.body
    assert "band" not in own.body

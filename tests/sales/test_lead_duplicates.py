"""Likely duplicates of a lead being entered: open leads and customers the rep can see, by e-mail,
e-mail domain (company leads), normalised phone and near-identical name; nothing is saved until
"create anyway"; another team's records are never reported; bounded queries."""

import pytest
from django.db import connection
from django.urls import reverse

from customers.models import Customer
from sales.models import Lead
from sales.selectors import likely_duplicate_leads
from tests.customers.factories import CustomerFactory, TeamFactory, UserFactory
from tests.sales.factories import LeadFactory

pytestmark = pytest.mark.django_db

CREATE = reverse("sales:lead_create")


@pytest.fixture
def team():
    return TeamFactory(name="North")


@pytest.fixture
def rep(client, team):
    user = UserFactory(username="rita", first_name="Rita", role="Sales rep")
    team.members.add(user)
    client.force_login(user)
    return user


def lead_data(rep, team, **overrides):
    data = {
        "name": "Ada Lovelace",
        "company": "Engines Ltd",
        "email": "ada@engines.example",
        "phone": "",
        "source": Lead.Source.REFERRAL,
        "owner": rep.pk,
        "team": team.pk,
    }
    data.update(overrides)
    return data


def check(rep, **given):
    values = {"name": "Zeta Zhou", "company": "", "email": "", "phone": ""}
    values.update(given)
    return likely_duplicate_leads(user=rep, **values)


def test_a_plain_post_with_a_duplicate_saves_nothing_and_create_anyway_saves(client, rep, team):
    existing = LeadFactory(
        name="Charles Babbage", company="Difference Works", email="cb@engines.example", team=team
    )
    customer = CustomerFactory(name="Engines Ltd", email="info@engines.example", team=team)

    warned = client.post(CREATE, lead_data(rep, team))

    assert warned.status_code == 200
    duplicates = warned.context["duplicates"]
    assert [match.lead for match in duplicates.leads] == [existing]
    assert duplicates.leads[0].reasons == ["same e-mail domain"]
    assert [match.customer for match in duplicates.customers] == [customer]
    assert reverse("sales:lead_detail", args=[existing.pk]).encode() in warned.content
    assert reverse("customers:detail", args=[customer.pk]).encode() in warned.content
    assert b'data-testid="create-anyway"' in warned.content
    assert Lead.objects.count() == 1

    created = client.post(CREATE, lead_data(rep, team, create_anyway="1"))

    assert created.status_code == 302
    assert Lead.objects.filter(name="Ada Lovelace").count() == 1


def test_same_e_mail_and_same_phone_match_through_the_blind_indexes(rep, team):
    by_email = LeadFactory(name="Alpha", email="Mia@Example.org", team=team)
    by_phone = LeadFactory(name="Beta", email="", phone="+49 (30) 1234-56", team=team)
    LeadFactory(name="Gamma", email="other@example.org", team=team)

    found = check(rep, email=" mia@example.org", phone="+4930123456")

    reasons = {match.lead.name: match.reasons for match in found.leads}
    assert reasons == {"Alpha": ["same e-mail"], "Beta": ["same phone"]}
    assert {match.lead for match in found.leads} == {by_email, by_phone}


def test_the_e_mail_domain_counts_for_company_leads_only_and_never_for_free_mail(rep, team):
    company = LeadFactory(name="Alpha", company="Delta", email="a@delta.example", team=team)
    LeadFactory(name="Beta", company="", email="b@delta.example", team=team)
    LeadFactory(name="Gamma", company="Gmail Co", email="g@gmail.com", team=team)

    found = check(rep, company="Omega", email="z@delta.example")

    assert [match.lead for match in found.leads] == [company]
    assert not check(rep, email="z@delta.example")  # a person lead: no domain rule
    assert not check(rep, company="Omega", email="z@gmail.com").leads


def test_a_customer_matches_by_phone_and_closed_leads_are_not_offered(rep, team):
    customer = CustomerFactory(name="Zed", email="", phone="030 / 555 12", team=team)
    # A converted lead is its customer now; disqualified and merged leads are closed.
    for status in (Lead.Status.DISQUALIFIED, Lead.Status.MERGED):
        LeadFactory(name="Closed", email="", phone="03055512", team=team, status=status)

    found = check(rep, phone="03055512")

    assert found.leads == []
    assert [match.customer for match in found.customers] == [customer]
    assert found.customers[0].reasons == ["same phone"]


def test_another_team_s_lead_and_customer_are_never_reported(rep, team):
    south = TeamFactory(name="South")
    LeadFactory(name="Hidden", email="same@hidden.example", team=south)
    CustomerFactory(name="Hidden", email="same@hidden.example", kind="person", team=south)

    assert not check(rep, name="Hidden", email="same@hidden.example")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="pg_trgm similarity")
def test_near_identical_names_and_companies_match_by_trigram_similarity(rep, team):
    by_name = LeadFactory(name="Ada Lovelace", email="", team=team)
    by_company = LeadFactory(name="Someone", company="Blue Harbour Logistic", email="", team=team)
    LeadFactory(name="Red Mountain", company="Red Mountain Foods", email="", team=team)
    customer = CustomerFactory(name="Blue Harbor Logistics GmbH", email="", team=team)

    found = check(rep, name="Ada Lovelace.", company="Blue Harbor Logistics")

    # similarity("Blue Harbour Logistic", "Blue Harbor Logistics") ≈ 0.78 ≥ 0.6; Red … ≈ 0.05
    assert {match.lead for match in found.leads} == {by_name, by_company}
    assert {tuple(match.reasons) for match in found.leads} == {("similar name",)}
    assert [match.customer for match in found.customers] == [customer]


@pytest.mark.skipif(connection.vendor == "postgresql", reason="the SQLite name rule")
def test_names_with_the_same_core_match_on_sqlite(rep, team):
    same = LeadFactory(name="x", company="acme", email="", team=team)
    longer = LeadFactory(name="y", company="Acme Trading", email="", team=team)
    LeadFactory(name="z", company="Acmes", email="", team=team)
    by_name = LeadFactory(name="ada lovelace", email="", team=team)

    found = check(rep, name="Ada Lovelace", company="ACME GmbH.")

    assert {match.lead for match in found.leads} == {same, longer, by_name}


def test_an_edit_is_checked_only_when_name_company_e_mail_or_phone_change(client, rep, team):
    lead = LeadFactory(name="Ada", email="ada@one.example", owner=rep, team=team)
    other = LeadFactory(name="Grace", email="grace@two.example", team=team)
    url = reverse("sales:lead_edit", args=[lead.pk])
    form = client.get(url).context["form"]
    data = lead_data(rep, team, name="Ada", company="", email="ada@one.example")
    data["edit_version"] = form.initial["edit_version"]

    # Only the source changes: the lead is not compared with itself or anyone.
    assert client.post(url, {**data, "source": Lead.Source.EVENT}).status_code == 302

    data["edit_version"] = client.get(url).context["form"].initial["edit_version"]
    warned = client.post(url, {**data, "email": "grace@two.example"})
    assert warned.status_code == 200
    assert [match.lead for match in warned.context["duplicates"].leads] == [other]
    lead.refresh_from_db()
    assert lead.email == "ada@one.example"

    saved = client.post(url, {**data, "email": "grace@two.example", "create_anyway": "1"})
    assert saved.status_code == 302
    lead.refresh_from_db()
    assert lead.email == "grace@two.example"


def test_the_check_costs_a_fixed_number_of_queries(
    client, rep, team, django_assert_max_num_queries
):
    for number in range(12):
        LeadFactory(
            name="Ada Lovelace",
            company="Engines",
            email=f"{number}@engines.example",
            owner=UserFactory(),
            team=team,
        )
        CustomerFactory(
            name="Engines Ltd", email=f"{number}@engines.example", team=team, owner=UserFactory()
        )

    # 14 with 12 matching leads and customers each: the check is two queries (owners joined);
    # one query per row would make it 14 + 10 or more
    with django_assert_max_num_queries(14):
        warned = client.post(CREATE, lead_data(rep, team))

    # five of each at most (the selector's limit)
    assert len(warned.context["duplicates"].leads) == 5
    assert len(warned.context["duplicates"].customers) == 5
    assert Customer.objects.count() == 12

import pytest

from customers.models import Customer
from tests.customers.factories import ContactFactory, CustomerFactory
from tests.sales.factories import OrderFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/customers/"


def detail(customer: Customer) -> str:
    return f"{URL}{customer.pk}/"


def test_rep_creates_a_customer_they_then_own_and_see(crew, client_as):
    client = client_as(crew.rep)

    response = client.post(URL, {"name": "Acme", "team": crew.team_a.pk, "kind": "company"})

    assert response.status_code == 201, response.json()
    customer = Customer.objects.get(pk=response.json()["id"])
    assert customer.owner_id == crew.rep.pk
    assert client.get(detail(customer)).json()["name"] == "Acme"


def test_crud_path_as_admin(crew, client_as):
    client = client_as(crew.admin)
    created = client.post(URL, {"name": "Initech", "email": "hi@initech.example"}).json()

    client.patch(f"{URL}{created['id']}/", {"phone": "+49 30 1234"})
    updated = client.put(
        f"{URL}{created['id']}/", {"name": "Initech AG", "email": "hi@initech.example"}
    )
    deleted = client.delete(f"{URL}{created['id']}/")

    assert updated.status_code == 200
    assert updated.json()["name"] == "Initech AG"
    assert updated.json()["phone"] == "+49 30 1234"
    assert deleted.status_code == 204
    assert not Customer.objects.filter(pk=created["id"]).exists()


@pytest.mark.parametrize(
    ("role", "team", "expected"),
    [
        ("rep", "a", 200),
        ("rep", "b", 404),
        ("rep_b", "a", 404),
        ("agent", "a", 200),
        ("agent", "b", 404),
        ("manager", "a", 200),
        ("manager", "b", 404),
        ("admin", "b", 200),
    ],
)
def test_retrieve_follows_team_visibility(crew, client_as, role, team, expected):
    customer = CustomerFactory(team=crew.team_a if team == "a" else crew.team_b)

    response = client_as(getattr(crew, role)).get(detail(customer))

    assert response.status_code == expected


@pytest.mark.parametrize(
    ("role", "method", "expected"),
    [
        ("rep", "patch", 200),
        ("rep", "delete", 403),  # reps have no delete_customer
        ("agent", "patch", 403),  # agents read customers only
        ("agent", "delete", 403),
        ("manager", "patch", 200),
        ("admin", "delete", 204),
        (None, "patch", 401),
        (None, "delete", 401),
    ],
)
def test_write_permission_matrix_on_own_team_customer(crew, client_as, role, method, expected):
    customer = CustomerFactory(team=crew.team_a)
    client = client_as(getattr(crew, role) if role else None)

    response = getattr(client, method)(detail(customer), {"phone": "1"})

    assert response.status_code == expected


def test_other_teams_customer_cannot_be_changed_even_by_a_manager(crew, client_as):
    customer = CustomerFactory(team=crew.team_b, name="Theirs")

    response = client_as(crew.manager).patch(detail(customer), {"name": "Mine now"})

    assert response.status_code == 404
    customer.refresh_from_db()
    assert customer.name == "Theirs"


def test_agent_cannot_create(crew, client_as):
    response = client_as(crew.agent).post(URL, {"name": "Nope"})

    assert response.status_code == 403
    assert not Customer.objects.filter(name="Nope").exists()


def test_list_shows_only_visible_customers(crew, client_as):
    mine = CustomerFactory(owner=crew.rep)
    team = CustomerFactory(team=crew.team_a)
    CustomerFactory(team=crew.team_b)

    ids = {row["id"] for row in client_as(crew.rep).get(URL).json()["results"]}

    assert ids == {mine.pk, team.pk}


def test_filters_status_team_and_search(crew, client_as):
    active = CustomerFactory(name="Alpha Active", status="active", team=crew.team_a)
    CustomerFactory(name="Beta Prospect", status="prospect", team=crew.team_a)
    other_team = CustomerFactory(name="Gamma Active", status="active", team=crew.team_b)
    client = client_as(crew.admin)

    by_status = client.get(URL, {"status": "active"}).json()["results"]
    by_team = client.get(URL, {"status": "active", "team": crew.team_b.pk}).json()["results"]
    by_text = client.get(URL, {"q": "alpha"}).json()["results"]

    assert {row["id"] for row in by_status} == {active.pk, other_team.pk}
    assert [row["id"] for row in by_team] == [other_team.pk]
    assert [row["id"] for row in by_text] == [active.pk]


def test_ordering_is_stable_across_pages_with_equal_names(crew, client_as):
    same_name = [CustomerFactory(name="Same") for _ in range(5)]
    client = client_as(crew.admin)

    first = client.get(URL, {"ordering": "name", "page_size": 2}).json()
    second = client.get(URL, {"ordering": "name", "page_size": 2, "page": 2}).json()
    third = client.get(URL, {"ordering": "name", "page_size": 2, "page": 3}).json()

    seen = [row["id"] for page in (first, second, third) for row in page["results"]]
    assert seen == sorted(customer.pk for customer in same_name)


def test_unknown_ordering_field_is_ignored_not_an_error(crew, client_as):
    response = client_as(crew.admin).get(URL, {"ordering": "password"})

    assert response.status_code == 200


def test_list_query_count_does_not_grow_with_rows(crew, client_as, django_assert_max_num_queries):
    client = client_as(crew.rep)
    for _ in range(30):
        CustomerFactory(team=crew.team_a)

    with django_assert_max_num_queries(6):
        response = client.get(URL)

    assert response.json()["count"] == 30


def test_csv_export_lists_every_visible_row(crew, client_as):
    CustomerFactory(name="Visible", team=crew.team_a)
    CustomerFactory(name="=HYPERLINK(evil)", team=crew.team_a)
    CustomerFactory(name="Hidden", team=crew.team_b)

    response = client_as(crew.rep).get(URL, {"format": "csv"})

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    text = response.content.decode()
    assert text.splitlines()[0].startswith("id,external_id,kind,name")
    assert "Visible" in text
    assert "Hidden" not in text
    # A formula is exported as text, not executed by the spreadsheet.
    assert "'=HYPERLINK(evil)" in text


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": "X", "kind": "robot"}, "kind"),
        ({"name": "X", "team": 999999}, "team"),
        ({"name": "X", "contract_end_date": "2026-13-45"}, "contract_end_date"),
        ({"name": "X", "email": "not-an-address"}, "email"),
        ({"name": ""}, "name"),
        ({"name": "X", "referred_by": "abc"}, "referred_by"),
    ],
)
def test_invalid_input_is_a_400_naming_the_field(crew, client_as, payload, field):
    response = client_as(crew.admin).post(URL, payload)

    assert response.status_code == 400
    assert field in response.json()


def test_referred_by_an_invisible_customer_is_refused(crew, client_as):
    hidden = CustomerFactory(team=crew.team_b)

    response = client_as(crew.rep).post(URL, {"name": "New", "referred_by": hidden.pk})

    assert response.status_code == 400
    assert "referred_by" in response.json()


def test_upsert_by_external_id_creates_then_updates(crew, client_as):
    client = client_as(crew.admin)
    url = f"{URL}by-external-id/shop-42/"

    created = client.put(url, {"name": "Shop customer", "email": "a@example.com"})
    updated = client.put(url, {"name": "Shop customer renamed", "email": "a@example.com"})

    assert created.status_code == 201
    assert updated.status_code == 200
    assert updated.json()["id"] == created.json()["id"]
    assert Customer.objects.get(external_id="shop-42").name == "Shop customer renamed"


def test_upsert_of_an_invisible_record_is_a_404(crew, client_as):
    CustomerFactory(team=crew.team_b, external_id="theirs-1", name="Theirs")

    response = client_as(crew.rep).put(f"{URL}by-external-id/theirs-1/", {"name": "Taken"})

    assert response.status_code == 404
    assert Customer.objects.get(external_id="theirs-1").name == "Theirs"


def test_mark_churned_goes_through_the_service_rule(crew, client_as):
    customer = CustomerFactory(team=crew.team_a, acquired_at="2026-03-01T00:00:00Z")
    client = client_as(crew.manager)

    too_early = client.post(
        f"{detail(customer)}mark-churned/", {"churned_at": "2026-01-01T00:00:00Z"}
    )
    ok = client.post(f"{detail(customer)}mark-churned/", {"churned_at": "2026-06-01T00:00:00Z"})

    assert too_early.status_code == 400
    assert "churned_at" in too_early.json()
    assert ok.status_code == 200
    assert ok.json()["status"] == "churned"


def test_deleting_a_customer_with_orders_is_a_conflict(crew, client_as):
    customer = CustomerFactory()
    OrderFactory(customer=customer)

    response = client_as(crew.admin).delete(detail(customer))

    assert response.status_code == 409
    assert Customer.objects.filter(pk=customer.pk).exists()


def test_contacts_follow_their_customers_visibility(crew, client_as):
    visible = ContactFactory(customer=CustomerFactory(team=crew.team_a))
    ContactFactory(customer=CustomerFactory(team=crew.team_b))
    client = client_as(crew.rep)

    listed = client.get("/api/v1/contacts/").json()["results"]
    created = client.post(
        "/api/v1/contacts/",
        {"customer": visible.customer_id, "first_name": "Ada", "is_primary": True},
    )

    assert [row["id"] for row in listed] == [visible.pk]
    assert created.status_code == 201


def test_teams_are_read_only_for_reps_and_editable_by_managers(crew, client_as):
    rep_response = client_as(crew.rep).post("/api/v1/teams/", {"name": "Rogue"})
    manager_response = client_as(crew.manager).post(
        "/api/v1/teams/", {"name": "Team C", "members": [crew.rep.pk]}
    )

    assert rep_response.status_code == 403
    assert manager_response.status_code == 201
    assert manager_response.json()["members"] == [crew.rep.pk]


def test_channels_only_admins_write(crew, client_as):
    assert (
        client_as(crew.manager).post("/api/v1/channels/", {"code": "x", "name": "X"}).status_code
        == 403
    )
    response = client_as(crew.admin).post(
        "/api/v1/channels/", {"code": "paid-social", "name": "Paid social", "is_paid": True}
    )
    assert response.status_code == 201
    duplicate = client_as(crew.admin).post(
        "/api/v1/channels/", {"code": "paid-social", "name": "Again"}
    )
    assert duplicate.status_code == 400
    assert "code" in duplicate.json()


def test_create_accepts_every_writable_field(crew, client_as):
    response = client_as(crew.admin).post(
        URL, {"name": "Full", "contract_end_date": "2027-01-31", "language": "de"}
    )

    assert response.status_code == 201, response.json()
    assert response.json()["contract_end_date"] == "2027-01-31"


def test_options_on_the_upsert_route_describes_without_failing(crew, client_as):
    response = client_as(crew.admin).options(f"{URL}by-external-id/x-1/")

    assert response.status_code == 200


def test_dates_before_standard_time_are_written_as_valid_rfc3339(crew, client_as):
    # Berlin's local mean time is +00:53:28, which RFC 3339 cannot express: UTC is used instead.
    response = client_as(crew.admin).post(
        URL, {"name": "Old", "created_at": "1800-07-07T01:34:13Z"}
    )

    assert response.status_code == 201
    assert response.json()["created_at"] == "1800-07-07T01:34:13Z"


def test_a_rep_cannot_file_or_move_a_customer_outside_what_they_see(crew, client_as):
    from customers.models import Customer

    client = client_as(crew.rep)  # a member of team A
    mine = CustomerFactory(team=crew.team_a, name="Mine")

    # Team B's, owned by team B's rep: a record the rep could not see once saved.
    theirs = {"team": crew.team_b.pk, "owner": crew.rep_b.pk}
    filed = client.post("/api/v1/customers/", {"name": "Sneaky", **theirs})
    moved = client.patch(f"/api/v1/customers/{mine.pk}/", theirs)
    upserted = client.put("/api/v1/customers/by-external-id/X-1/", {"name": "Synced", **theirs})

    assert (filed.status_code, moved.status_code, upserted.status_code) == (400, 400, 400)
    assert "nothing was saved" in filed.json()["non_field_errors"][0]
    # Rolled back: no new customer, and Mine stays in team A.
    assert list(Customer.objects.values_list("name", flat=True)) == ["Mine"]
    mine.refresh_from_db()
    assert mine.team_id == crew.team_a.pk

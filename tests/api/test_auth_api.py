import pytest
from knox.models import AuthToken
from rest_framework.test import APIClient

from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db

TOKENS = "/api/v1/tokens/"


def token_client(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def test_anonymous_requests_are_401(client_as):
    assert client_as(None).get("/api/v1/customers/").status_code == 401
    assert client_as(None).post("/api/v1/leads/", {"name": "x"}).status_code == 401


def test_admin_issues_a_token_shown_once_and_stored_hashed(crew, client_as):
    response = client_as(crew.admin).post(TOKENS, {"user": crew.rep.pk, "expiry_days": 30})

    assert response.status_code == 201
    token = response.json()["token"]
    stored = AuthToken.objects.get(user=crew.rep)
    assert token not in (stored.digest, stored.token_key)
    listed = client_as(crew.admin).get(TOKENS).json()["results"]
    assert "token" not in listed[0]
    assert listed[0]["token_key"] == stored.token_key


def test_token_authenticates_with_the_users_visibility(crew, client_as):
    CustomerFactory(team=crew.team_a, name="Ours")
    CustomerFactory(team=crew.team_b, name="Theirs")
    token = client_as(crew.admin).post(TOKENS, {"user": crew.rep.pk}).json()["token"]

    names = [row["name"] for row in token_client(token).get("/api/v1/customers/").json()["results"]]

    assert names == ["Ours"]


def test_revoked_and_invalid_tokens_are_401(crew, client_as):
    issued = client_as(crew.admin).post(TOKENS, {"user": crew.rep.pk}).json()

    revoked = client_as(crew.admin).delete(f"{TOKENS}{issued['token_key']}/")

    assert revoked.status_code == 204
    assert token_client(issued["token"]).get("/api/v1/customers/").status_code == 401
    assert token_client("not-a-token").get("/api/v1/customers/").status_code == 401


def test_a_token_can_log_itself_out(crew, client_as):
    token = client_as(crew.admin).post(TOKENS, {"user": crew.rep.pk}).json()["token"]
    client = token_client(token)

    assert client.post("/api/v1/auth/logout/").status_code == 204
    assert client.get("/api/v1/customers/").status_code == 401


@pytest.mark.parametrize("role", ["rep", "agent", "manager"])
def test_only_admins_manage_tokens(crew, client_as, role):
    client = client_as(getattr(crew, role))

    assert client.get(TOKENS).status_code == 403
    assert client.post(TOKENS, {"user": crew.rep.pk}).status_code == 403


def test_session_login_works_for_the_web_app(crew):
    client = APIClient()
    client.force_login(crew.rep)

    assert client.get("/api/v1/customers/").status_code == 200


def test_anonymous_clients_are_throttled(settings, client_as):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            "anon": "3/minute",
            "token": "1000/minute",
            "user": "1000/minute",
        },
    }
    client = client_as(None)

    statuses = [client.get("/api/v1/customers/").status_code for _ in range(4)]

    assert statuses == [401, 401, 401, 429]


def test_each_token_has_its_own_budget(crew, client_as, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": "100/minute", "token": "2/minute", "user": "100/minute"},
    }
    first = client_as(crew.admin).post(TOKENS, {"user": crew.rep.pk}).json()["token"]
    second = client_as(crew.admin).post(TOKENS, {"user": crew.rep.pk}).json()["token"]

    first_statuses = [token_client(first).get("/api/v1/teams/").status_code for _ in range(3)]
    second_status = token_client(second).get("/api/v1/teams/").status_code

    assert first_statuses == [200, 200, 429]
    assert second_status == 200

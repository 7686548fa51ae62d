"""Users of every role in two teams, and API clients signed in as them."""

from dataclasses import dataclass

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from crm.roles import ADMIN, MANAGER, SALES_REP, SUPPORT_AGENT
from customers.models import Team
from tests.customers.factories import TeamFactory, UserFactory


@dataclass
class Crew:
    team_a: Team
    team_b: Team
    rep: object
    rep_b: object
    agent: object
    manager: object
    admin: object


@pytest.fixture(autouse=True)
def _fresh_throttles() -> None:
    """Throttle counters live in the cache; each test starts with a full budget."""
    cache.clear()


@pytest.fixture(autouse=True)
def _fast_passwords(settings) -> None:
    """Seven users per test: hashing their passwords with PBKDF2 would dominate the run."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def crew(db: None) -> Crew:
    team_a = TeamFactory(name="Team A")
    team_b = TeamFactory(name="Team B")
    rep = UserFactory(username="rep", role=SALES_REP)
    rep_b = UserFactory(username="rep_b", role=SALES_REP)
    agent = UserFactory(username="agent", role=SUPPORT_AGENT)
    manager = UserFactory(username="manager", role=MANAGER)
    admin = UserFactory(username="admin", role=ADMIN)
    team_a.members.add(rep, agent)
    team_b.members.add(rep_b)
    team_a.manager = manager
    team_a.save()
    return Crew(team_a, team_b, rep, rep_b, agent, manager, admin)


@pytest.fixture
def client_as():
    """client_as(user) → an APIClient authenticated as that user (None: anonymous)."""

    def make(user: object | None) -> APIClient:
        client = APIClient()
        if user is not None:
            client.force_authenticate(user=user)
        return client

    return make

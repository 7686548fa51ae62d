"""Throttles and the survey rate limit key on the address the trusted proxies saw, never on an
X-Forwarded-For value the client writes itself."""

import pytest
from django.test import RequestFactory

from crm.client_address import client_address, client_address_or_none

pytestmark = pytest.mark.django_db


def request_from(remote_addr: str, forwarded_for: str | None = None):
    extra = {"REMOTE_ADDR": remote_addr}
    if forwarded_for is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return RequestFactory().get("/", **extra)


@pytest.mark.parametrize(
    ("proxies", "remote_addr", "forwarded_for", "expected"),
    [
        # no proxy trusted: the header is ignored whatever it says
        (0, "198.51.100.1", "10.0.0.1", "198.51.100.1"),
        # one proxy: the last entry is what it saw; the forged first entry is ignored
        (1, "10.0.0.2", "6.6.6.6, 203.0.113.7", "203.0.113.7"),
        # two proxies: counted from the right, the second-last entry
        (2, "10.0.0.3", "6.6.6.6, 203.0.113.7, 10.0.0.2", "203.0.113.7"),
        # fewer entries than trusted proxies: the request bypassed a proxy; the peer counts
        (2, "198.51.100.9", "203.0.113.7", "198.51.100.9"),
        (1, "198.51.100.9", None, "198.51.100.9"),
        # a proxy writing something that is no address: the peer counts
        (1, "10.0.0.2", "6.6.6.6, unknown", "10.0.0.2"),
        # IPv6 is normalised
        (0, "2001:DB8::1", None, "2001:db8::1"),
    ],
)
def test_client_address(settings, proxies, remote_addr, forwarded_for, expected):
    settings.CRM_TRUSTED_PROXY_COUNT = proxies

    assert client_address(request_from(remote_addr, forwarded_for)) == expected


@pytest.fixture
def tight_anonymous_throttle(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": "2/minute", "token": "100/minute", "user": "100/minute"},
    }
    return settings


def test_a_forged_forwarded_for_does_not_buy_a_new_budget(client_as, tight_anonymous_throttle):
    client = client_as(None)

    statuses = [
        client.get(
            "/api/v1/customers/", REMOTE_ADDR="198.51.100.1", HTTP_X_FORWARDED_FOR=f"10.0.0.{n}"
        ).status_code
        for n in range(3)
    ]

    assert statuses == [401, 401, 429]


def test_behind_a_proxy_each_client_has_its_own_budget(client_as, tight_anonymous_throttle):
    tight_anonymous_throttle.CRM_TRUSTED_PROXY_COUNT = 1
    client = client_as(None)

    def call(forwarded_for: str) -> int:
        return client.get(
            "/api/v1/customers/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded_for
        ).status_code

    first_client = [call(f"6.6.6.{n}, 203.0.113.7") for n in range(3)]
    second_client = call("203.0.113.8")

    assert first_client == [401, 401, 429]
    assert second_client == 401


def test_the_survey_rate_limit_ignores_a_forged_forwarded_for(client, settings):
    settings.SURVEY_RATE_LIMIT_PER_HOUR = 2
    statuses = [
        client.get(
            "/s/made-up-token/", REMOTE_ADDR="198.51.100.1", HTTP_X_FORWARDED_FOR=f"10.0.0.{n}"
        ).status_code
        for n in range(3)
    ]

    # two unknown tokens spend the address's allowance of 2 guesses; the third is refused
    assert statuses == [404, 404, 429]


def test_a_request_without_an_address():
    request = RequestFactory().get("/")
    del request.META["REMOTE_ADDR"]

    assert client_address(request) == "unknown"  # a rate-limit key
    assert client_address_or_none(request) is None  # django-axes stores NULL

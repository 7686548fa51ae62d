# mypy: disable-error-code="arg-type,attr-defined,misc"
"""The cache fails open (crm.cache.FailOpenRedisCache): with nothing listening where Redis
should be, reads miss, writes are dropped and logged, and the API (throttled) and the public
survey page (rate-limited) answer as usual."""

import datetime as dt
import logging

import pytest
import redis
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from crm import cache as crm_cache
from surveys.models import SurveyInvitation, SurveyResponse
from tests.crm.faults import REDIS_PORTS
from tests.customers.factories import UserFactory
from tests.surveys.factories import SurveyInvitationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def cache_down(settings, monkeypatch):
    for port in reversed(REDIS_PORTS):
        try:
            redis.Redis(port=port, socket_connect_timeout=0.2).ping()
        except redis.exceptions.ConnectionError:
            break
    else:
        pytest.skip("no closed port in 6390–6399")
    settings.CACHES = {
        "default": {
            "BACKEND": "crm.cache.FailOpenRedisCache",
            "LOCATION": f"redis://127.0.0.1:{port}/0",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    monkeypatch.setitem(crm_cache._last_warning, "at", -crm_cache.WARN_EVERY_SECONDS)


def test_every_operation_misses_instead_of_raising(cache_down, caplog):
    with caplog.at_level(logging.WARNING, logger="crm.cache"):
        cache.set("k", 1)
        assert cache.get("k", "missing") == "missing"
        assert cache.add("k", 1) is False
        assert cache.incr("k") == 1  # as if just created: a rate limit stops limiting
        assert cache.get_many(["k", "j"]) == {}
        assert cache.has_key("k") is False
        assert cache.delete("k") is False
        cache.delete_many(["k"])
        assert cache.set_many({"k": 1}) == ["k"]
        assert cache.touch("k") is False
        cache.clear()

    # logged once per minute, not once per call
    assert caplog.text.count("cache unavailable, failing open") == 1


def test_the_api_answers_with_its_throttles_open(client, cache_down):
    # anonymous (address throttle): refused for the missing login, not a 500
    assert client.get("/api/v1/tickets/").status_code == 401
    client.force_login(UserFactory(role="Support agent"))
    assert client.get("/api/v1/tickets/").status_code == 200


def test_the_survey_page_records_an_answer_with_its_rate_limit_open(client, cache_down):
    invitation = SurveyInvitationFactory(
        status=SurveyInvitation.Status.SENT,
        sent_at=timezone.now(),
        expires_at=timezone.now() + dt.timedelta(days=14),
    )
    url = reverse("survey_public:answer", kwargs={"token": invitation.token})

    assert client.get(url).status_code == 200
    assert client.post(url, {"score": "9"}).status_code == 302
    assert SurveyResponse.objects.get().score == 9

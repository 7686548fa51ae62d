"""Sign-ins, failed sign-ins and sign-outs are audit events, on SQLite as on PostgreSQL."""

import pytest
from django.urls import reverse

from audit.models import AuthEvent
from audit.services import audit_event_record
from tests.customers.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_sign_in_and_sign_out_are_recorded_with_the_address(client):
    user = UserFactory(username="rita")
    user.set_password("right-password")
    user.save()

    client.post(reverse("login"), {"username": "rita", "password": "right-password"})
    client.post(reverse("logout"))

    events = list(AuthEvent.objects.order_by("id"))
    assert [(e.kind, e.user_id, e.username) for e in events] == [
        ("sign_in", user.pk, "rita"),
        ("sign_out", user.pk, "rita"),
    ]
    assert events[0].ip_address == "127.0.0.1"


def test_failed_sign_in_keeps_the_name_typed_but_no_password(client):
    UserFactory(username="rita")

    client.post(reverse("login"), {"username": "nobody", "password": "guess-1"})

    event = AuthEvent.objects.get()
    assert (event.kind, event.user_id, event.username) == ("sign_in_failed", None, "nobody")
    assert "guess-1" not in str(AuthEvent.objects.values().get())


def test_lock_out_can_be_recorded_through_the_public_function():
    event = audit_event_record(kind="locked_out", username="rita")

    assert (event.kind, event.username, event.source) == ("locked_out", "rita", "system")


def test_an_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="Unknown sign-in event kind"):
        audit_event_record(kind="hacked", username="rita")

# mypy: disable-error-code="arg-type,attr-defined,misc"
"""PostgreSQL restarted (issue 14, item 13): the server ends our connection (what a restart
does to every client), and the next request and the next task reconnect without a restart.

pg_terminate_backend from a second connection is the restart, seen from the client's side.
Requests go through Django's real WSGIHandler, not the test client: the test client
disconnects the request_started → close_old_connections hook that arms the health check.
"""

from wsgiref.util import setup_testing_defaults

import pytest
from celery.fixups.django import DjangoWorkerFixup
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection, connections
from django.urls import reverse

from crm.celery import app as celery_app
from tests.customers.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def persistent_connections(monkeypatch):
    """Production keeps connections open across requests (DATABASE_CONN_MAX_AGE > 0)."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 600)
    connection.close()  # reopened with the new maximum age
    yield
    connection.close()


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


def terminate(pid: int) -> None:
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    finally:
        other.close()


def wsgi_get(path: str, session_cookie: str) -> str:
    """GET `path` through the WSGI handler a server would call; returns the status line."""
    environ = {"PATH_INFO": path, "REQUEST_METHOD": "GET", "HTTP_COOKIE": session_cookie}
    setup_testing_defaults(environ)
    statuses: list[str] = []
    response = WSGIHandler()(
        environ, lambda status, headers, exc_info=None: statuses.append(status)
    )
    b"".join(response)
    response.close()  # request_finished, as a server does
    return statuses[0]


@pytest.fixture
def manager_cookie(client) -> str:
    client.force_login(UserFactory(role="Manager"))
    return f"sessionid={client.cookies['sessionid'].value}"


def test_health_checks_are_on():
    assert connection.settings_dict["CONN_HEALTH_CHECKS"] is True


def test_a_request_after_the_connection_was_terminated_reconnects(
    manager_cookie, persistent_connections
):
    assert wsgi_get(reverse("customers:list"), manager_cookie) == "200 OK"
    killed = backend_pid()  # the persistent connection the request used

    terminate(killed)

    # the health check at the request's first query finds it dead and reconnects
    assert wsgi_get(reverse("customers:list"), manager_cookie) == "200 OK"
    assert backend_pid() != killed


def test_without_health_checks_the_same_request_fails(
    manager_cookie, persistent_connections, monkeypatch
):
    # the control: what CONN_HEALTH_CHECKS prevents
    monkeypatch.setitem(connection.settings_dict, "CONN_HEALTH_CHECKS", False)
    assert wsgi_get(reverse("customers:list"), manager_cookie) == "200 OK"

    terminate(backend_pid())

    assert wsgi_get(reverse("customers:list"), manager_cookie).startswith("500")


def test_a_worker_reconnects_before_its_next_task(persistent_connections):
    killed = backend_pid()
    terminate(killed)

    # what Celery's Django fixup runs in the worker before every task
    DjangoWorkerFixup(celery_app).close_database()

    assert backend_pid() != killed

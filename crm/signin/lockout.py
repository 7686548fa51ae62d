"""Lock-out after repeated failed sign-ins, with one limit per account and another per address.

django-axes counts the failures (AccessAttempt rows, visible and deletable in the admin) and
answers a locked-out client. One office behind one NAT address shares the address budget,
so it is larger than the account's; either one spent locks the sign-in for the cool-off time.
Usernames that do not exist are counted exactly like real ones, so a lock-out tells nothing
about which accounts exist. Lock-outs are announced through `axes.signals.user_locked_out`.
"""

from typing import Any

from axes.backends import AxesStandaloneBackend
from axes.handlers.database import AxesDatabaseHandler
from django.conf import settings
from django.db.models import Sum
from django.http import HttpRequest


class PerAccountAndAddressHandler(AxesDatabaseHandler):
    """Failures counted per username and per client address, each against its own limit.

    axes compares one number with AXES_FAILURE_LIMIT (the larger of our two limits): this
    reports that limit once either budget is spent, and a number below it otherwise.
    """

    def get_failures(self, request: HttpRequest, credentials: dict | None = None) -> int:
        by_account, by_address = (
            attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0
            for attempts in self.get_user_attempts(request, credentials)
        )
        limit = int(settings.AXES_FAILURE_LIMIT)
        if (
            by_account >= settings.CRM_SIGNIN_FAILURES_PER_ACCOUNT
            or by_address >= settings.CRM_SIGNIN_FAILURES_PER_ADDRESS
        ):
            return limit
        return min(max(by_account, by_address), limit - 1)


class LockoutBackend(AxesStandaloneBackend):
    """Refuses a locked-out client before any password is checked.

    Calls without a request come from our own process (the test client's login(), the shell):
    no network guess to count, so they pass on to the model backend unchecked. Every sign-in
    form (ours, the admin's) passes its request.
    """

    def authenticate(  # type: ignore[override]
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> None:
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)

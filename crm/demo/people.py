"""The demo staff: one login per role plus the colleagues who own the generated records.

Demo passwords are public by design (they are printed by `demo_logins`); the generated
colleagues get unusable passwords so only the four documented logins can sign in.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, User

from crm.roles import ADMIN, MANAGER, SALES_REP, SUPPORT_AGENT

SALES_DIRECT = "Sales Direct"
SALES_ENTERPRISE = "Sales Enterprise"
CUSTOMER_SUPPORT = "Customer Support"
SALES_TEAMS = (SALES_DIRECT, SALES_ENTERPRISE)
TEAM_NAMES = (SALES_DIRECT, SALES_ENTERPRISE, CUSTOMER_SUPPORT)

DEMO_URL = "http://127.0.0.1:8000/"


@dataclass(frozen=True)
class StaffMember:
    username: str
    first_name: str
    last_name: str
    role: str
    # Team the person works in (None for the admin); the manager manages every team instead.
    team: str | None
    is_demo_login: bool = False


STAFF: tuple[StaffMember, ...] = (
    StaffMember("rep", "Rita", "Berger", SALES_REP, SALES_DIRECT, is_demo_login=True),
    StaffMember("lena.fischer", "Lena", "Fischer", SALES_REP, SALES_DIRECT),
    StaffMember("jonas.weber", "Jonas", "Weber", SALES_REP, SALES_DIRECT),
    StaffMember("mia.wagner", "Mia", "Wagner", SALES_REP, SALES_ENTERPRISE),
    StaffMember("paul.becker", "Paul", "Becker", SALES_REP, SALES_ENTERPRISE),
    StaffMember("agent", "Alex", "Neumann", SUPPORT_AGENT, CUSTOMER_SUPPORT, is_demo_login=True),
    StaffMember("sara.koch", "Sara", "Koch", SUPPORT_AGENT, CUSTOMER_SUPPORT),
    StaffMember("tim.hoffmann", "Tim", "Hoffmann", SUPPORT_AGENT, CUSTOMER_SUPPORT),
    StaffMember("nina.richter", "Nina", "Richter", SUPPORT_AGENT, CUSTOMER_SUPPORT),
    StaffMember("manager", "Maren", "Vogel", MANAGER, None, is_demo_login=True),
    StaffMember("admin", "Ada", "Albrecht", ADMIN, None, is_demo_login=True),
)
MANAGER_USERNAME = "manager"


def demo_password(username: str) -> str:
    return f"pulse-demo-{username}"


def team_members(team: str) -> list[str]:
    return [member.username for member in STAFF if member.team == team]


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    role: str
    description: str


_DESCRIPTIONS = {
    "rep": "Sales rep in Sales Direct: own customers, leads, deals",
    "agent": "Support agent in Customer Support: ticket queue",
    "manager": "Manages all teams: KPIs, costs, Django admin",
    "admin": "Administrator: everything, Django admin, KPI weights",
}


def demo_logins() -> list[DemoLogin]:
    return [
        DemoLogin(
            member.username,
            demo_password(member.username),
            member.role,
            _DESCRIPTIONS[member.username],
        )
        for member in STAFF
        if member.is_demo_login
    ]


def staff_ensure() -> dict[str, User]:
    """Create (or refresh) every demo staff user with its role group; returns users by name.

    Demo logins get their documented password back even if someone changed it, so the
    printed table is always right.
    """
    user_model = get_user_model()
    groups = {group.name: group for group in Group.objects.filter(name__in=[m.role for m in STAFF])}
    users: dict[str, User] = {}
    for member in STAFF:
        user, _created = user_model.objects.get_or_create(username=member.username)
        user.first_name = member.first_name
        user.last_name = member.last_name
        user.email = f"{member.username}@pulse-demo.example"
        # The Django admin is for managers and admins; reps and agents work in the app.
        user.is_staff = member.role in (MANAGER, ADMIN)
        user.is_superuser = member.role == ADMIN
        user.is_active = True
        if member.is_demo_login:
            user.set_password(demo_password(member.username))
        else:
            user.set_unusable_password()
        user.save()
        user.groups.set([groups[member.role]])
        users[member.username] = user
    return users

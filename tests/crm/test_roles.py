import pytest
from django.contrib.auth.models import Group

from crm.roles import ROLES, is_admin, is_manager
from tests.customers.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_the_data_migration_creates_every_role_with_permissions():
    groups = {g.name: g for g in Group.objects.prefetch_related("permissions")}
    assert set(ROLES) <= set(groups)
    rep_perms = {p.codename for p in groups["Sales rep"].permissions.all()}
    assert {"add_lead", "change_opportunity", "view_customer"} <= rep_perms
    assert "delete_customer" not in rep_perms
    agent_perms = {p.codename for p in groups["Support agent"].permissions.all()}
    assert "change_ticket" in agent_perms
    assert "change_opportunity" not in agent_perms


def test_role_helpers_follow_group_membership():
    rep = UserFactory(role="Sales rep")
    manager = UserFactory(role="Manager")
    admin = UserFactory(role="Admin")
    assert not is_manager(rep)
    assert is_manager(manager)
    assert not is_admin(manager)
    assert is_admin(admin)
    assert is_manager(admin)

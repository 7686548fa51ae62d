from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate

PULSE_APPS = ("crm", "customers", "sales", "support", "surveys", "kpis", "reports")


def grant_admin_role_every_permission(sender: AppConfig, **kwargs: Any) -> None:
    """Keep the Admin role complete as models are added: it holds every permission of our apps.

    The roles themselves come from the data migration crm/0001_roles; this only tops Admin up.
    """
    from django.contrib.auth.models import Group, Permission

    using = kwargs.get("using", "default")
    admin = Group.objects.using(using).filter(name="Admin").first()
    if admin is None:
        return
    admin.permissions.add(
        *Permission.objects.using(using).filter(content_type__app_label__in=PULSE_APPS)
    )


class CrmConfig(AppConfig):
    name = "crm"
    verbose_name = "Pulse CRM"

    def ready(self) -> None:
        # Registers the encryption key checks (crm.W101, crm.E101).
        from crm.encryption import checks  # noqa: F401

        # Every app sends post_migrate; permissions of an app exist once its own signal ran.
        post_migrate.connect(
            grant_admin_role_every_permission, dispatch_uid="pulse_admin_role_permissions"
        )
        # Sign-in (issue 14): a new sign-in restarts the session's lifetime and idle clocks.
        from django.contrib.auth.signals import user_logged_in

        from crm.signin.middleware import session_clocks_start

        user_logged_in.connect(session_clocks_start, dispatch_uid="pulse_session_clocks")

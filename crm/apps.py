from django.apps import AppConfig
from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_migrate


class CrmConfig(AppConfig):
    name = "crm"
    verbose_name = "Pulse CRM"

    def ready(self) -> None:
        # Loaded once the app registry is ready: these modules import models.
        from crm import tasks  # noqa: F401, PLC0415  registers the tasks queued by name
        from crm.encryption import checks  # noqa: F401, PLC0415  registers crm.W101, crm.E101
        from crm.roles import grant_admin_role_every_permission  # noqa: PLC0415  imports models
        from crm.signin.middleware import session_clocks_start  # noqa: PLC0415  imports models

        # Every app sends post_migrate; permissions of an app exist once its own signal ran.
        post_migrate.connect(
            grant_admin_role_every_permission, dispatch_uid="pulse_admin_role_permissions"
        )
        # A new sign-in restarts the session's lifetime and idle clocks.
        user_logged_in.connect(session_clocks_start, dispatch_uid="pulse_session_clocks")

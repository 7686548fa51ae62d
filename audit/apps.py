from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = _("Audit trail")

    def ready(self) -> None:
        # Sign-in and failed sign-in events come from Django's auth signals.
        from audit import signals  # noqa: F401, PLC0415  connects receivers; imports models

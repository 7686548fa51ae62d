from django.apps import AppConfig


class KpisConfig(AppConfig):
    name = "kpis"
    verbose_name = "Kpis"

    def ready(self) -> None:
        # Domain services queue KPI tasks by name (customers.services.customer_merge); the web
        # process, which publishes them from the outbox, must have them registered too.
        from kpis import tasks  # noqa: F401, PLC0415  registers the tasks queued by name

from django.apps import AppConfig


class SupportConfig(AppConfig):
    name = "support"
    verbose_name = "Support"

    def ready(self) -> None:
        # Services queue support tasks by name (support.services.ticket_reply_send); the web
        # process, which publishes them from the outbox, must have them registered too.
        from support import tasks  # noqa: F401, PLC0415  registers the tasks queued by name

"""An e-mail backend whose server is always down: tests the retry-then-undeliverable path
through Django's real e-mail machinery (no mock of our code)."""

import smtplib
from collections.abc import Sequence

from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend

ATTEMPTS: list[int] = []


class UnreachableSMTPBackend(BaseEmailBackend):
    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        ATTEMPTS.append(len(email_messages))
        raise smtplib.SMTPServerDisconnected("connection unexpectedly closed")

"""E-mail out: an agent's public reply is mailed to the customer with threading headers.

`Message-ID` is generated here and stored on the TicketMessage, so the customer's answer
(`In-Reply-To` / `References`) threads back to the ticket (support.inbound). The subject keeps
the "[#123]" token as a second threading key for mail clients that drop the headers.
"""

from __future__ import annotations

import logging
import re
from email.utils import make_msgid, parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import translation

from support.models import Ticket, TicketMessage

logger = logging.getLogger(__name__)

# How many earlier Message-IDs go into References (RFC 5322 allows trimming the middle).
REFERENCES_LIMIT = 20
_TOKEN = re.compile(r"\s*\[#\d+\]\s*")
_REPLY_PREFIX = re.compile(r"^\s*((re|aw|fw|fwd|wg|回复|答复)\s*:\s*)+", re.IGNORECASE)


def support_from_email() -> str:
    return str(getattr(settings, "SUPPORT_FROM_EMAIL", "") or settings.DEFAULT_FROM_EMAIL)


def message_id_domain() -> str:
    """The domain of our Message-IDs: the support address's, so they are globally unique."""
    _name, address = parseaddr(support_from_email())
    return address.rpartition("@")[2] or "pulse-crm.local"


def ticket_subject_token(ticket: Ticket) -> str:
    return f"[#{ticket.pk}]"


def ticket_reply_subject(ticket: Ticket) -> str:
    """ "Re: <subject> [#123]" with earlier prefixes and tokens removed (no "Re: Re:")."""
    subject = _REPLY_PREFIX.sub("", _TOKEN.sub(" ", ticket.subject)).strip()
    return f"Re: {subject} {ticket_subject_token(ticket)}"


def ticket_recipient(ticket: Ticket) -> str:
    """The ticket's contact if it has an address, else the customer's."""
    if ticket.contact is not None and ticket.contact.email:
        return ticket.contact.email
    return ticket.customer.email


def _thread_ids(message: TicketMessage) -> list[str]:
    """Message-IDs of the earlier e-mails of this ticket, oldest first."""
    return list(
        TicketMessage.objects.filter(
            ticket_id=message.ticket_id, created_at__lte=message.created_at
        )
        .exclude(pk=message.pk)
        .exclude(email_message_id="")
        .order_by("created_at", "id")
        .values_list("email_message_id", flat=True)
    )


@transaction.atomic
def ticket_reply_email_send(*, message_id: int) -> bool:
    """Mail one public agent reply once; True when it went out.

    Idempotent: a message that already has a Message-ID was sent (the id is written in the same
    transaction as the send). Internal notes, customer and system messages are never mailed.
    A send error propagates so the Celery task can retry.
    """
    message = (
        TicketMessage.objects.select_for_update(of=("self",))
        .select_related("ticket__customer", "ticket__contact", "author_user")
        .filter(pk=message_id)
        .first()
    )
    if (
        message is None
        or message.email_message_id
        or message.author_kind != TicketMessage.AuthorKind.AGENT
        or not message.is_public
    ):
        return False
    ticket = message.ticket
    recipient = ticket_recipient(ticket)
    if not recipient:
        logger.info("reply %s on ticket %s not mailed: no customer address", message.pk, ticket.pk)
        return False
    earlier = _thread_ids(message)
    new_id = make_msgid(domain=message_id_domain())
    headers = {"Message-ID": new_id}
    if earlier:
        headers["In-Reply-To"] = earlier[-1]
        kept = (
            earlier
            if len(earlier) <= REFERENCES_LIMIT
            else [earlier[0], *earlier[-(REFERENCES_LIMIT - 1) :]]
        )
        headers["References"] = " ".join(kept)
    language = ticket.customer.language or settings.LANGUAGE_CODE
    with translation.override(language):
        context = {"ticket": ticket, "message": message, "agent": message.author_user}
        text = render_to_string("support/email/reply.txt", context)
        html = render_to_string("support/email/reply.html", context)
    email = EmailMultiAlternatives(
        subject=ticket_reply_subject(ticket),
        body=text,
        from_email=support_from_email(),
        to=[recipient],
        headers=headers,
    )
    email.attach_alternative(html, "text/html")
    email.send()
    message.email_message_id = new_id
    message.save(update_fields=["email_message_id"])
    return True

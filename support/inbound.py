"""E-mail in: a raw RFC 822 message becomes a new ticket or a reply on an existing one.

Order of decisions (each refusal is logged and writes nothing):
1. Refuse oversize messages (INBOUND_EMAIL_MAX_BYTES) and any attachment over
   INBOUND_ATTACHMENT_MAX_BYTES; refuse what does not parse as a message with headers.
2. Refuse a message without a usable sender address.
3. Ignore bounces (multipart/report, mailer-daemon/postmaster senders, empty Return-Path) —
   a bounce of a survey invitation marks that invitation undeliverable — and auto-replies
   (Auto-Submitted other than "no", X-Autoreply / X-Autorespond, Precedence bulk/junk/list/
   auto_reply): they never open tickets.
4. A Message-ID already stored is a duplicate delivery (webhook retry): nothing new.
5. Thread: In-Reply-To, then References, against TicketMessage.email_message_id; then a
   "[#123]" token in the subject, accepted only from the ticket's customer or its contacts
   (a token is guessable, a Message-ID is not).
6. Match the sender to a contact, then a customer, by e-mail (case-insensitive); an unknown
   sender becomes a new person customer. The reply goes through ticket_message_add, so a pending
   or solved ticket reopens and a closed one gets a linked follow-up ticket.
Attachments of an accepted type are stored on the ticket (attachments app, within the
INBOUND_ATTACHMENT_MAX_BYTES cap); each is noted in the message body, a refused type as not stored.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import parseaddr

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.html import strip_tags
from django.utils.translation import gettext as _

from attachments.models import Attachment
from attachments.services import IncomingFile, attachment_check, attachments_add
from crm.encryption.ciphers import normalise_email
from crm.encryption.fields import blind_index_q
from customers.models import Contact, Customer
from customers.services import customer_create
from support.models import Ticket, TicketMessage
from support.services import ticket_create, ticket_message_add
from surveys.services import survey_invitation_mark_undeliverable

logger = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")
_SUBJECT_TOKEN = re.compile(r"\[#(\d{1,12})\]")
_BOUNCE_SENDERS = {"mailer-daemon", "postmaster"}
_AUTO_PRECEDENCE = {"bulk", "junk", "list", "auto_reply"}
_SURVEY_HEADER = re.compile(r"^X-Pulse-Survey-Invitation:\s*(\d+)", re.IGNORECASE | re.MULTILINE)


class InboundEmailRefused(ValidationError):
    """The message cannot be accepted; `.code` says why (size, malformed, no_sender …)."""


@dataclass(frozen=True)
class InboundResult:
    action: str  # "created" | "replied" | "duplicate" | "ignored_auto_reply" | "ignored_bounce"
    ticket: Ticket | None = None
    message: TicketMessage | None = None


def _max_message_bytes() -> int:
    return int(getattr(settings, "INBOUND_EMAIL_MAX_BYTES", DEFAULT_MAX_BYTES))


def _max_attachment_bytes() -> int:
    return int(getattr(settings, "INBOUND_ATTACHMENT_MAX_BYTES", _max_message_bytes()))


def _refuse(code: str, message: str, **context: object) -> InboundEmailRefused:
    logger.warning("inbound e-mail refused (%s): %s %s", code, message, context or "")
    return InboundEmailRefused(message, code=code)


def parse_message(raw: bytes) -> EmailMessage:
    """Parse and check size and shape; raises InboundEmailRefused."""
    if len(raw) > _max_message_bytes():
        raise _refuse("too_large", _("The e-mail is larger than the accepted size."), size=len(raw))
    if not raw.strip():
        raise _refuse("malformed", _("The e-mail is empty."))
    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    # A body without any header block parses as headers-less text: not an e-mail.
    if not message.keys() or any(
        type(defect).__name__ == "MissingHeaderBodySeparatorDefect" for defect in message.defects
    ):
        raise _refuse("malformed", _("The e-mail has no valid header block."))
    return message


def sender_address(message: EmailMessage) -> tuple[str, str]:
    """(display name, lower-case address) of From; raises when missing or invalid."""
    try:
        raw_from = str(message.get("From") or "")
    except (ValueError, IndexError):  # undecodable header
        raw_from = ""
    name, address = parseaddr(raw_from)
    address = address.strip().lower()
    try:
        validate_email(address)
    except ValidationError:
        raise _refuse("no_sender", _("The e-mail has no valid sender address.")) from None
    return name.strip(), address


def _header(message: EmailMessage, name: str) -> str:
    try:
        return str(message.get(name, "") or "").strip()
    except (ValueError, IndexError):
        return ""


def is_bounce(message: EmailMessage) -> bool:
    if message.get_content_type() == "multipart/report":
        return True
    _name, address = parseaddr(_header(message, "From"))
    if address.partition("@")[0].lower() in _BOUNCE_SENDERS:
        return True
    return _header(message, "Return-Path") == "<>"


def is_auto_reply(message: EmailMessage) -> bool:
    auto_submitted = _header(message, "Auto-Submitted").lower()
    if auto_submitted and auto_submitted != "no":
        return True
    if _header(message, "X-Autoreply") or _header(message, "X-Autorespond"):
        return True
    return _header(message, "Precedence").lower() in _AUTO_PRECEDENCE


def _bounced_survey_invitation(message: EmailMessage) -> int | None:
    """The invitation id of a bounced survey e-mail (its returned headers carry our header)."""
    for part in message.walk():
        if part.get_content_type() in ("message/rfc822", "text/rfc822-headers"):
            payload = part.get_payload()
            text = (
                str(payload[0])
                if isinstance(payload, list) and payload
                else (part.get_content() if part.get_content_type().startswith("text/") else "")
            )
            match = _SURVEY_HEADER.search(str(text))
            if match:
                return int(match.group(1))
    return None


def _message_ids(value: str) -> list[str]:
    return _MESSAGE_ID.findall(value or "")


def _body_text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, ValueError):  # unknown charset or broken encoding
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    if part.get_content_type() == "text/html":
        content = strip_tags(content)
    return str(content).replace("\r\n", "\n").strip()


@dataclass(frozen=True)
class _InboundAttachment:
    incoming: IncomingFile
    accepted: bool


def _attachments(message: EmailMessage) -> list[_InboundAttachment]:
    """Each attachment, with whether its type (sniffed from the content) may be stored; refuses
    the message when one is over the size cap."""
    found = []
    limit = _max_attachment_bytes()
    for part in message.iter_attachments():
        payload = part.get_payload(decode=True)
        size = len(payload) if isinstance(payload, bytes) else 0
        name = part.get_filename() or _("(unnamed)")
        if size > limit:
            raise _refuse(
                "attachment_too_large",
                _("The attachment “%(name)s” is larger than the accepted size.") % {"name": name},
                size=size,
            )
        incoming = IncomingFile.from_bytes(name, payload if isinstance(payload, bytes) else b"")
        try:
            attachment_check(incoming, max_bytes=limit)
        except ValidationError:
            found.append(_InboundAttachment(incoming, accepted=False))
        else:
            found.append(_InboundAttachment(incoming, accepted=True))
    return found


def _thread_by_headers(message: EmailMessage) -> Ticket | None:
    ids = _message_ids(_header(message, "In-Reply-To")) + list(
        reversed(_message_ids(_header(message, "References")))
    )
    if not ids:
        return None
    known = (
        TicketMessage.objects.filter(email_message_id__in=ids)
        .select_related("ticket")
        .order_by("-created_at", "-id")
        .first()
    )
    return known.ticket if known is not None else None


def _thread_by_subject(subject: str, address: str) -> Ticket | None:
    match = _SUBJECT_TOKEN.search(subject)
    if match is None:
        return None
    ticket = Ticket.objects.filter(pk=int(match.group(1))).select_related("customer").first()
    if ticket is None:
        return None
    belongs = (
        normalise_email(ticket.customer.email) == normalise_email(address)
        or Contact.objects.filter(blind_index_q(Contact, "email", address))
        .filter(customer_id=ticket.customer_id)
        .exists()
    )
    return ticket if belongs else None


def _match_sender(name: str, address: str) -> tuple[Customer, Contact | None]:
    contact = (
        Contact.objects.filter(blind_index_q(Contact, "email", address))
        .select_related("customer")
        .order_by("-is_primary", "id")
        .first()
    )
    if contact is not None:
        return contact.customer, contact
    customer = (
        Customer.objects.filter(blind_index_q(Customer, "email", address)).order_by("id").first()
    )
    if customer is not None:
        return customer, None

    return customer_create(name=name or address, kind="person", email=address), None


def _with_attachment_note(body: str, attachments: list[_InboundAttachment]) -> str:
    if not attachments:
        return body
    lines = [
        (
            _("[attachment: %(name)s, %(size)s bytes]")
            if attachment.accepted
            else _("[attachment not stored, type not accepted: %(name)s, %(size)s bytes]")
        )
        % {"name": attachment.incoming.name, "size": attachment.incoming.size}
        for attachment in attachments
    ]
    return "\n".join([body, "", *lines]).strip()


def _store_attachments(ticket: Ticket, attachments: list[_InboundAttachment]) -> None:
    for attachment in attachments:
        if attachment.accepted:
            attachments_add(
                record=ticket,
                files=[attachment.incoming],
                actor=None,
                source=Attachment.Source.EMAIL,
                max_bytes=_max_attachment_bytes(),
            )


@transaction.atomic
def inbound_email_process(*, raw: bytes) -> InboundResult:
    """Turn one raw RFC 822 message into a ticket or a reply (see the module docstring)."""
    message = parse_message(raw)
    if is_bounce(message):
        invitation_id = _bounced_survey_invitation(message)
        if invitation_id is not None:
            survey_invitation_mark_undeliverable(invitation_id=invitation_id, reason="bounce")
        logger.info("inbound bounce ignored: %s", _header(message, "Subject")[:100])
        return InboundResult(action="ignored_bounce")
    name, address = sender_address(message)
    if is_auto_reply(message):
        logger.info("inbound auto-reply from %s ignored", address)
        return InboundResult(action="ignored_auto_reply")

    message_ids = _message_ids(_header(message, "Message-ID"))
    message_id = message_ids[0] if message_ids else ""
    if message_id:
        existing = TicketMessage.objects.filter(email_message_id=message_id).first()
        if existing is not None:
            return InboundResult(action="duplicate", ticket=existing.ticket, message=existing)

    attachments = _attachments(message)
    body = _with_attachment_note(_body_text(message), attachments)
    subject = " ".join(_header(message, "Subject").split())
    if not body:
        body = subject or _("(empty message)")

    ticket = _thread_by_headers(message) or _thread_by_subject(subject, address)
    if ticket is not None:
        reply = ticket_message_add(
            ticket=ticket, body=body, author_kind="customer", email_message_id=message_id
        )
        _store_attachments(reply.ticket, attachments)
        return InboundResult(action="replied", ticket=reply.ticket, message=reply)

    customer, contact = _match_sender(name, address)
    ticket = ticket_create(
        customer=customer,
        contact=contact,
        subject=(_SUBJECT_TOKEN.sub("", subject).strip() or _("(no subject)"))[:200],
        body=body,
        channel=Ticket.Channel.EMAIL,
        team=customer.team,
        email_message_id=message_id,
    )
    _store_attachments(ticket, attachments)
    return InboundResult(action="created", ticket=ticket, message=ticket.messages.first())

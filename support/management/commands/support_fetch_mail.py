"""Read a mailbox into tickets: `support_fetch_mail --mbox PATH` or `--imap HOST --user U
--password P [--folder INBOX] [--port 993] [--no-ssl]`.

Each message goes through support.inbound.inbound_email_process in its own transaction; a
refused message is logged and counted, never half-written. IMAP: unseen messages are
fetched and flagged \\Seen once processed (refused ones too, so they are not retried forever;
they stay in the mailbox for a person to look at).
"""

from __future__ import annotations

import imaplib
import mailbox
from collections import Counter
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from support.inbound import InboundEmailRefused, inbound_email_process


class Command(BaseCommand):
    help = "Import e-mails from an mbox file or an IMAP account as tickets and replies."

    def add_arguments(self, parser: CommandParser) -> None:
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--mbox", help="Path of an mbox file.")
        source.add_argument("--imap", metavar="HOST", help="IMAP server host name.")
        parser.add_argument("--user", default="")
        parser.add_argument("--password", default="")
        parser.add_argument("--folder", default="INBOX")
        parser.add_argument("--port", type=int, default=None)
        parser.add_argument("--no-ssl", action="store_true", help="Plain IMAP (port 143).")

    def handle(self, *args: Any, **options: Any) -> None:
        counts: Counter[str] = Counter()
        if options["mbox"]:
            self._from_mbox(options["mbox"], counts)
        else:
            self._from_imap(options, counts)
        summary = ", ".join(f"{action}: {count}" for action, count in sorted(counts.items()))
        self.stdout.write(summary or "no messages")

    def _process(self, raw: bytes, counts: Counter[str]) -> str:
        try:
            result = inbound_email_process(raw=raw)
        except InboundEmailRefused as exc:
            counts[f"refused ({exc.code})"] += 1
            self.stderr.write(f"refused: {exc.code}: {' '.join(exc.messages)}")
            return "refused"
        counts[result.action] += 1
        return result.action

    def _from_mbox(self, path: str, counts: Counter[str]) -> None:
        try:
            box = mailbox.mbox(path, create=False)
        except (FileNotFoundError, mailbox.NoSuchMailboxError) as exc:
            raise CommandError(f"No mbox file at {path}.") from exc
        try:
            for key in box.keys():
                self._process(box.get_bytes(key), counts)
        finally:
            box.close()

    def _from_imap(self, options: dict[str, Any], counts: Counter[str]) -> None:
        host = options["imap"]
        if not options["user"] or not options["password"]:
            raise CommandError("--imap needs --user and --password.")
        connection: imaplib.IMAP4
        try:
            if options["no_ssl"]:
                connection = imaplib.IMAP4(host, options["port"] or 143)
            else:
                connection = imaplib.IMAP4_SSL(host, options["port"] or 993)
            connection.login(options["user"], options["password"])
        except (OSError, imaplib.IMAP4.error) as exc:
            raise CommandError(f"Cannot log in to {host}: {exc}") from exc
        try:
            status, _data = connection.select(options["folder"])
            if status != "OK":
                raise CommandError(f"No folder {options['folder']} on {host}.")
            status, data = connection.uid("SEARCH", "UNSEEN")
            uids = data[0].split() if status == "OK" and data and data[0] else []
            for uid in uids:
                status, parts = connection.uid("FETCH", uid, "(BODY.PEEK[])")
                raw = next(
                    (part[1] for part in parts if isinstance(part, tuple) and len(part) > 1),
                    None,
                )
                if status != "OK" or not isinstance(raw, bytes):
                    counts["unreadable"] += 1
                    continue
                self._process(raw, counts)
                connection.uid("STORE", uid, "+FLAGS", "(\\Seen)")
        finally:
            try:
                connection.logout()
            except (OSError, imaplib.IMAP4.error):
                pass

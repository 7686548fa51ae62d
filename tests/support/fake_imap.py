"""A minimal IMAP4rev1 server on localhost, enough for support_fetch_mail: LOGIN, SELECT,
UID SEARCH UNSEEN, UID FETCH (BODY.PEEK[]), UID STORE +FLAGS (\\Seen), LOGOUT.

It speaks the real protocol over a real socket, so the command's imaplib code runs unchanged.
"""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class FakeMailbox:
    def __init__(self, messages: list[bytes], user: str, password: str) -> None:
        self.messages = {uid: raw for uid, raw in enumerate(messages, start=1)}
        self.seen: set[int] = set()
        self.user, self.password = user, password


def _handler(box: FakeMailbox) -> type[socketserver.StreamRequestHandler]:
    class Handler(socketserver.StreamRequestHandler):
        def send(self, data: bytes) -> None:
            self.wfile.write(data)
            self.wfile.flush()

        def handle(self) -> None:
            self.send(b"* OK [CAPABILITY IMAP4rev1] fake ready\r\n")
            while True:
                line = self.rfile.readline()
                if not line:
                    return
                tag, _space, rest = line.decode().strip().partition(" ")
                words = rest.split(" ")
                command = words[0].upper()
                if command == "CAPABILITY":
                    self.send(f"* CAPABILITY IMAP4rev1\r\n{tag} OK done\r\n".encode())
                elif command == "LOGIN":
                    user, password = (w.strip('"') for w in words[1:3])
                    ok = (user, password) == (box.user, box.password)
                    self.send(f"{tag} {'OK' if ok else 'NO'} login\r\n".encode())
                elif command == "SELECT":
                    count = len(box.messages)
                    self.send(f"* {count} EXISTS\r\n{tag} OK [READ-WRITE] done\r\n".encode())
                elif command == "UID" and words[1].upper() == "SEARCH":
                    unseen = " ".join(str(uid) for uid in box.messages if uid not in box.seen)
                    self.send(f"* SEARCH {unseen}\r\n{tag} OK done\r\n".encode())
                elif command == "UID" and words[1].upper() == "FETCH":
                    uid = int(words[2])
                    raw = box.messages[uid]
                    self.send(f"* {uid} FETCH (UID {uid} BODY[] {{{len(raw)}}}\r\n".encode())
                    self.send(raw + b")\r\n" + f"{tag} OK done\r\n".encode())
                elif command == "UID" and words[1].upper() == "STORE":
                    box.seen.add(int(words[2]))
                    self.send(f"{tag} OK done\r\n".encode())
                elif command == "LOGOUT":
                    self.send(f"* BYE\r\n{tag} OK done\r\n".encode())
                    return
                else:
                    self.send(f"{tag} BAD unknown\r\n".encode())

    return Handler


@contextmanager
def fake_imap_server(box: FakeMailbox) -> Iterator[int]:
    """Serve `box` on a free localhost port; yields the port."""
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _handler(box))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()

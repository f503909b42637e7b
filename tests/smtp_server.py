"""Loopback test doubles for notifications and automation: an SMTP server (aiosmtpd), an HTTP receiver
(http.server in a thread) and a small factory for issued tickets.

Test-only helpers: they bind 127.0.0.1 on free ports and never reach the network.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import http.server
import json
import socket
import ssl
import threading
from dataclasses import dataclass, field

from aiosmtpd.controller import Controller


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Collector:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's handler name
        self.envelopes.append(envelope)
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"


ACCOUNT_KINDS = ("email_verification", "password_reset", "email_change", "email_changed")


class SmtpServer:
    """A real SMTP server on 127.0.0.1 that keeps every message it receives."""

    def __init__(self) -> None:
        self.handler = _Collector()
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    @property
    def messages(self) -> list[email.message.EmailMessage]:
        return self.handler.messages

    @property
    def event_messages(self) -> list[email.message.EmailMessage]:
        """Every message but the account e-mails (a registration's verification link...): tickets, claims..."""
        return [m for m in self.handler.messages if m["X-Boxoffice-Kind"] not in ACCOUNT_KINDS]

    def account_messages(self, kind: str, to: str | None = None) -> list[email.message.EmailMessage]:
        """The account e-mails of `kind` received so far (to `to` only, when given), oldest first."""
        return [m for m in self.handler.messages
                if m["X-Boxoffice-Kind"] == kind and (to is None or m["To"] == to)]

    def start(self) -> SmtpServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()


@dataclass
class Received:
    """One request the HTTP receiver got."""

    path: str
    headers: dict
    body: bytes

    def json(self):
        return json.loads(self.body)


@dataclass
class HttpReceiver:
    """An HTTP server on 127.0.0.1 answering each POST with the next status of `statuses` (then 200), and with
    a `Location` header when `location` is set (a redirect)."""

    statuses: list[int] = field(default_factory=list)
    location: str | None = None
    tls: ssl.SSLContext | None = None  # a server context: serve https instead of http
    received: list[Received] = field(default_factory=list)
    hold: threading.Event | None = None  # when set: the first POST waits for it before answering
    arrived: threading.Event = field(default_factory=threading.Event)  # set once a held POST is waiting

    def start(self) -> HttpReceiver:
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's handler name
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                receiver.received.append(Received(self.path, dict(self.headers.items()), body))
                if receiver.hold is not None and not receiver.arrived.is_set():
                    receiver.arrived.set()
                    receiver.hold.wait(60)
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                if receiver.location:
                    self.send_header("Location", receiver.location)
                self.end_headers()
                self.wfile.write(b"ok" if status < 400 else b"nope")

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if self.tls is not None:
            self.server.socket = self.tls.wrap_socket(self.server.socket, server_side=True)
        self.url = f"{'https' if self.tls else 'http'}://127.0.0.1:{self.server.server_port}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def make_tickets(org_id: str, count: int = 2, *, email_to: str = "buyer@example.com", name: str = "Alex Reyes",
                 customer_id: str | None = None, tz: str = "Europe/Paris", price: int = 2500):
    """A venue, a published event, a ticket type, a confirmed booking and `count` valid tickets (rows only)."""
    from core.db import db, write_transaction
    from core.models import Booking, Customer, Event, TicketType, Venue, new_id, utcnow
    from core.services.issuing import Holder, issue_tickets

    starts = dt.datetime(2031, 3, 14, 18, 30)
    with db.connection_context(), write_transaction():
        venue = Venue.create(org=org_id, name="Salle Pleyel", address="252 Rue du Faubourg Saint-Honoré",
                             city="Paris", country="FR", tz=tz)
        event = Event.create(org=org_id, name="Concert de Jazz", slug=f"concert-de-jazz-{new_id()[:8]}",
                             venue=venue, tz=tz, starts_at=starts, ends_at=starts + dt.timedelta(hours=3),
                             published_at=utcnow())
        ticket_type = TicketType.create(org=org_id, event=event, name="VIP", price=price, currency="EUR")
        customer = Customer.get_by_id(customer_id) if customer_id else None
        booking = Booking.create(org=org_id, event=event, customer=customer, email=email_to, name=name,
                                 status="confirmed", amount=price * count, currency="EUR", seats=count,
                                 confirmed_at=utcnow())
        tickets = issue_tickets(org_id, ticket_type, count, holder=Holder(email_to, name, customer),
                                booking=booking, unit_price=price)
    return booking, tickets

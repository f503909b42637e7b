"""The transactional outbox in process: rows commit with their cause or not at all, a repeat is harmless, a
failing plugin hook is retried with its writes rolled back, a connection killed right after the commit loses
nothing, and the keys receivers de-duplicate by stay the same across attempts."""

from __future__ import annotations

import json
import os
import re

import pytest
from smtp_server import HttpReceiver, SmtpServer
from test_purchase_support import make_event, make_type

from core import db as database
from core import outbox
from core.hookspecs import hookimpl
from core.models import Booking, Org, OutboxEntry
from core.plugins import get_host

PURCHASE = "/client/events/tickets/purchase"


@pytest.fixture
def loopback(config, monkeypatch):
    """A loopback SMTP server and webhook receiver the session app sends to."""
    smtp, receiver = SmtpServer().start(), HttpReceiver().start()
    monkeypatch.setattr(config, "smtp_url", f"smtp://127.0.0.1:{smtp.port}")
    monkeypatch.setattr(config, "webhooks_allow_private", True)
    yield smtp, receiver
    receiver.stop()
    smtp.stop()


@pytest.fixture
def shop(tenant, loopback):
    """A tenant with notifications and automation on (one endpoint for the sale events) and a free type."""
    tenant.enable("notifications")
    tenant.enable("automation")
    created = tenant.staff.post("/automation/endpoints", json={"url": loopback[1].url,
                                                               "eventTypes": ["booking.confirmed", "tickets.issued"]})
    assert created.status_code == 201, created.get_json()
    event = make_event(tenant, capacity=50)
    tenant.ticket_type = make_type(tenant, event, price=0, capacity=50)
    tenant.event_id = event
    tenant.buyer = tenant.customer()
    return tenant


def buy(shop) -> str:
    answer = shop.buyer.post(PURCHASE, json={"eventId": shop.event_id,
                                             "tickets": [{"ticketTypeId": shop.ticket_type, "quantity": 1}]})
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()["bookingId"]


def entries(org_id: str) -> list[OutboxEntry]:
    with database.db.connection_context():
        return list(OutboxEntry.select().where(OutboxEntry.org_id == org_id).order_by(OutboxEntry.created_at))


def arrived(loopback) -> tuple[list[str], list[str]]:
    """Message-IDs received by SMTP, event ids received by the webhook receiver (header = body id)."""
    smtp, receiver = loopback
    for request in receiver.received:
        assert request.headers["Boxoffice-Event-Id"] == request.json()["id"]
    return [m["Message-ID"] for m in smtp.event_messages], [r.json()["id"] for r in receiver.received]


def test_a_sale_sends_its_effects_once_and_a_repeat_dispatch_changes_nothing(shop, loopback):
    buy(shop)
    emails, events = arrived(loopback)
    assert len(emails) == 1 and len(events) == 2
    rows = entries(shop.orgid)
    assert rows and all(row.done_at is not None and not row.failed for row in rows)
    assert {(r.kind, r.name) for r in rows} >= {("hook", "booking_confirmed"), ("hook", "tickets_issued"),
                                                ("job", "plugins.notifications.service.send_message"),
                                                ("job", "plugins.automation.service.deliver_job")}
    with database.db.connection_context():
        outbox.dispatch([row.id for row in rows])  # a queue that hands everything over twice
    assert arrived(loopback) == (emails, events)


def test_a_rolled_back_change_records_nothing(shop, loopback):
    with database.db.connection_context(), pytest.raises(RuntimeError), database.write_transaction():
        booking = Booking(id="b-rolled-back", org=shop.orgid, status="confirmed")
        get_host().hooks_for(shop.orgid).notify("booking_confirmed", org=shop.org, booking=booking)
        raise RuntimeError("the change fails")
    assert [r for r in entries(shop.orgid) if r.name == "booking_confirmed"] == []
    assert arrived(loopback) == ([], [])


class Flaky:
    """A plugin whose `booking_confirmed` writes a row, then raises the first time it runs."""

    def __init__(self) -> None:
        self.calls = 0

    @hookimpl
    def booking_confirmed(self, org, booking):
        self.calls += 1
        Booking.update(name=f"seen {self.calls}").where(Booking.id == booking.id).execute()
        if self.calls == 1:
            raise RuntimeError("first call fails")


@pytest.fixture
def flaky(app, shop):
    plugin = Flaky()
    host = get_host()
    host.register(plugin, "flaky")
    with database.db.connection_context():
        from tenants import service

        service.set_plugin_enabled(shop.orgid, "flaky", True)
    host.forget()
    yield plugin
    host.pm.unregister(name="flaky")
    host._subset_cache.clear()
    host.forget()


def test_a_failing_hook_is_rolled_back_and_retried_by_the_sweep(shop, loopback, flaky, config, monkeypatch):
    booking_id = buy(shop)
    assert flaky.calls == 1
    [row] = [r for r in entries(shop.orgid) if r.plugin == "flaky"]
    assert row.done_at is None and row.attempts == 1 and "first call fails" in row.last_error
    with database.db.connection_context():
        assert Booking.get_by_id(booking_id).name != "seen 1"  # its write went with the failure
        assert len(arrived(loopback)[0]) == 1  # the other plugins were not held up
        monkeypatch.setattr(config, "outbox_redispatch_seconds", 0)
        OutboxEntry.update(due_at=OutboxEntry.created_at).where(OutboxEntry.id == row.id).execute()
        assert outbox.sweep() >= 1
        assert Booking.get_by_id(booking_id).name == "seen 2"
        outbox.sweep()  # done now: a second sweep leaves it be
    assert flaky.calls == 2
    assert [r.done_at is not None for r in entries(shop.orgid) if r.plugin == "flaky"] == [True]
    assert len(arrived(loopback)[0]) == 1 and len(arrived(loopback)[1]) == 2


def test_the_claim_token_is_sealed_in_the_outbox(shop, loopback):
    booking_id = buy(shop)
    with database.db.connection_context():
        ticket_id = Booking.get_by_id(booking_id).tickets.get().id
    answer = shop.buyer.post(f"/client/events/tickets/{ticket_id}/transfer",
                             json={"toEmail": "friend@example.com", "toName": "Friend"})
    assert answer.status_code == 201, answer.get_json()
    [claim] = [m for m in loopback[0].event_messages if m["X-Boxoffice-Kind"] == "transfer_claim"]
    token = re.search(r"claim\?token=([\w-]+)", claim.get_body(("plain",)).get_content()).group(1)
    rows = [r for r in entries(shop.orgid) if r.name == "ticket_transferred"]
    assert rows and all("$sealed" in json.dumps(r.payload) and token not in json.dumps(r.payload) for r in rows)
    with database.db.connection_context():
        private_key = Org.get_by_id(shop.orgid).signing_private_key
    assert not [r for r in entries(shop.orgid) if private_key in json.dumps(r.payload)]  # orgs go by reference


def test_the_message_id_is_the_same_on_every_attempt(shop, loopback):
    from plugins.notifications.models import Message
    from plugins.notifications.service import build_mime

    buy(shop)
    with database.db.connection_context():
        message = Message.select().where((Message.org == shop.orgid) & (Message.kind == "tickets_issued")).get()
        settings = {}
        first, second = build_mime(shop.org, message, settings), build_mime(shop.org, message, settings)
    assert first["Message-ID"] == second["Message-ID"] == loopback[0].event_messages[0]["Message-ID"]



@pytest.mark.skipif(not os.environ.get("BOXOFFICE_DATABASE_URL", "").startswith("postgres"),
                    reason="kills a PostgreSQL backend")
def test_connection_killed_right_after_commit_loses_nothing(shop, loopback, config, monkeypatch):
    """The backend dies between the sale's COMMIT and the dispatch: the sale stands, nothing is sent then, and
    the sweep sends every effect once."""
    from pg_admin import terminate

    real_dispatch, killed = outbox.dispatch, []

    def kill_then_dispatch(entry_ids):
        if not killed:
            killed.append(database.db.connection().info.backend_pid)
            terminate(killed[0])
        real_dispatch(entry_ids)

    monkeypatch.setattr(outbox, "dispatch", kill_then_dispatch)
    booking_id = buy(shop)
    assert killed and arrived(loopback) == ([], [])
    monkeypatch.setattr(outbox, "dispatch", real_dispatch)
    monkeypatch.setattr(config, "outbox_redispatch_seconds", 0)
    with database.db.connection_context():
        assert Booking.get_by_id(booking_id).status == "confirmed"
        assert outbox.sweep() >= 2
        outbox.sweep()  # nothing of this sale is left to send again
    emails, events = arrived(loopback)
    assert len(emails) == len(set(emails)) == 1 and len(events) == len(set(events)) == 2
    assert all(row.done_at is not None for row in entries(shop.orgid))


def test_done_entries_are_purged_after_a_week_and_open_ones_never(shop):
    import datetime as dt

    buy(shop)
    with database.db.connection_context():
        rows = entries(shop.orgid)
        old, kept = rows[0], rows[1]
        month_ago = old.done_at - dt.timedelta(days=30)
        OutboxEntry.update(done_at=old.done_at - dt.timedelta(days=8)).where(OutboxEntry.id == old.id).execute()
        OutboxEntry.update(done_at=None, due_at=month_ago).where(OutboxEntry.id == kept.id).execute()
        assert outbox.purge_done() >= 1
        left = {row.id for row in entries(shop.orgid)}
        OutboxEntry.update(done_at=kept.done_at).where(OutboxEntry.id == kept.id).execute()  # leave no work behind
    assert old.id not in left and kept.id in left and len(left) == len(rows) - 1


def test_a_check_in_and_its_hook_entry_commit_together(tenant, loopback, monkeypatch):
    """A scan that a plugin consumes (automation's `ticket.checked_in` webhook) commits with its outbox entry or
    not at all: when the entry cannot be written the scan answers 5xx and the ticket is not admitted, and the
    door's retry admits it once, with one webhook."""
    from ticket_factory import issue, make_event

    tenant.enable("automation")
    assert tenant.staff.post("/automation/endpoints", json={"url": loopback[1].url,
                                                           "eventTypes": ["ticket.checked_in"]}).status_code == 201
    event, ticket_type = make_event(tenant)
    ticket = issue(tenant, ticket_type)[0]
    real_insert = outbox._insert

    def refuse_scan_entries(rows):
        if any(row["name"] == "ticket_checked_in" for row in rows):
            raise RuntimeError("outbox unavailable")
        return real_insert(rows)

    monkeypatch.setattr(outbox, "_insert", refuse_scan_entries)
    try:
        failed = tenant.staff.post(f"/events/check-in/{ticket.id}", json={"scanPoint": "door"}).status_code
    except RuntimeError:  # the test app propagates unexpected errors
        failed = 500
    assert failed == 500
    with database.db.connection_context():
        assert type(ticket).get_by_id(ticket.id).scan_count == 0  # the admission rolled back with its entry
    monkeypatch.setattr(outbox, "_insert", real_insert)
    admitted = tenant.staff.post(f"/events/check-in/{ticket.id}", json={"scanPoint": "door"})
    assert admitted.status_code == 200 and admitted.get_json()["admitted"] is True
    assert tenant.staff.post(f"/events/check-in/{ticket.id}", json={"scanPoint": "door"}).status_code == 409
    scans = [e for e in entries(tenant.orgid) if e.name == "ticket_checked_in"]
    assert len(scans) == 1 and scans[0].done_at is not None
    assert sum(b"ticket.checked_in" in post.body for post in loopback[1].received) == 1

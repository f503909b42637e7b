"""Fault runs against real processes: the side effects of every committed sale arrive, each once by its key.

A Redis of the test's own (own port, started and stopped here), `gunicorn wsgi:app` and `boxoffice worker`
processes, a loopback SMTP server and a loopback webhook receiver. Each sale is a free purchase: one e-mail
(`tickets_issued`, keyed by its Message-ID) and two webhooks (`booking.confirmed`, `tickets.issued`, keyed by
the `Boxoffice-Event-Id` header, equal to the body's id). Sweep bounds are shortened to a second or three.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
import uuid
from collections import Counter

import pytest
import requests
from audits import counters_match_rows
from conftest import make_tenant
from procs import OwnRedis, ServerProcess, boxoffice_command, boxoffice_env, free_port, gunicorn_command
from smtp_server import ACCOUNT_KINDS, HttpReceiver, SmtpServer
from test_purchase_support import make_event, make_type

from core import db as database

PURCHASE = "/client/events/tickets/purchase"
EVENT_TYPES = ["booking.confirmed", "tickets.issued"]


class Worker:
    """A `boxoffice worker` process (its own session, so SIGKILL takes its threads with it)."""

    def __init__(self, env: dict) -> None:
        self.proc = subprocess.Popen(boxoffice_command("worker", "--workers", "2"), env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)

    def kill(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture(scope="module")
def stack(app):
    """Own Redis, loopback SMTP and webhook receiver, one gunicorn; the env the workers start with."""
    own = OwnRedis().start()
    smtp = SmtpServer().start()
    receiver = HttpReceiver().start()
    env = boxoffice_env(BOXOFFICE_REDIS_URL=own.url, BOXOFFICE_QUEUE_NAME=f"outbox-{uuid.uuid4().hex[:8]}",
                        BOXOFFICE_JOBS_IMMEDIATE=None, BOXOFFICE_SMTP_URL=f"smtp://127.0.0.1:{smtp.port}",
                        BOXOFFICE_WEBHOOKS_ALLOW_PRIVATE="1", BOXOFFICE_OUTBOX_REDISPATCH_SECONDS="1",
                        BOXOFFICE_OUTBOX_SWEEP_SECONDS="1", BOXOFFICE_OUTBOX_LEASE_SECONDS="3")
    port = free_port()
    try:
        with ServerProcess(gunicorn_command(port, workers=1), port, env=env) as server:
            yield {"redis": own, "smtp": smtp, "receiver": receiver, "env": env, "server": server}
    finally:
        receiver.stop()
        smtp.stop()
        own.stop()


@pytest.fixture
def shop(app, stack, config, monkeypatch):
    """A tenant with notifications and automation on, an endpoint for the two sale events, a free ticket type
    and a customer; `buy()` buys one ticket through the gunicorn server."""
    monkeypatch.setattr(config, "webhooks_allow_private", True)  # the endpoint is created in this process
    tenant = make_tenant(app, "Outbox Org")
    tenant.enable("notifications")
    tenant.enable("automation")
    created = tenant.staff.post("/automation/endpoints", json={"url": stack["receiver"].url,
                                                               "eventTypes": EVENT_TYPES})
    assert created.status_code == 201, created.get_json()
    event = make_event(tenant, capacity=100)
    ticket_type = make_type(tenant, event, price=0, capacity=100)
    customer = tenant.customer()
    headers = {"orgid": tenant.orgid, "Authorization": f"Bearer {customer.token}"}
    stack["smtp"].messages.clear()
    stack["receiver"].received.clear()

    def buy() -> str:
        answer = stack["server"].request("POST", PURCHASE, headers=headers, json={
            "eventId": event, "tickets": [{"ticketTypeId": ticket_type, "quantity": 1}]})
        assert answer.status_code == 201, answer.text
        return answer.json()["bookingId"]

    tenant.buy, tenant.event_id = buy, event
    return tenant


def _ours(stack, org_id: str) -> tuple[list[str], list[dict]]:
    """The e-mails' Message-IDs and the webhook events (id header checked against the body) of one tenant."""
    message_ids = [m["Message-ID"] for m in stack["smtp"].messages]
    events = []
    for request in stack["receiver"].received:
        body = request.json()
        if body["org"] == org_id:
            assert request.headers["Boxoffice-Event-Id"] == body["id"]
            events.append(body)
    return message_ids, events


def _wait_for(stack, org_id: str, sales: int, timeout: float = 40) -> tuple[list[str], list[dict]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message_ids, events = _ours(stack, org_id)
        if len(set(message_ids)) >= sales and len({e["id"] for e in events}) >= 2 * sales:
            time.sleep(1.5)  # a second sweep round: a repeat would show up now
            return _ours(stack, org_id)
        time.sleep(0.2)
    return _ours(stack, org_id)


def _audit(org_id: str, event_id: str, bookings: list[str]) -> None:
    """Seats equal live tickets; every logged e-mail sent and every delivery succeeded; the outbox is empty."""
    from core.models import Booking, OutboxEntry
    from plugins.automation.models import Delivery
    from plugins.notifications.models import Message

    with database.db.connection_context():
        assert counters_match_rows(event_id)
        assert sorted(b.id for b in Booking.select().where(Booking.org == org_id)) == sorted(bookings)
        assert Counter(m.status for m in Message.select().where(  # the sales' e-mails (not the account's)
            (Message.org == org_id) & Message.kind.not_in(ACCOUNT_KINDS))) == {"sent": len(bookings)}
        assert Counter(d.status for d in Delivery.select().where(Delivery.org == org_id)) == {
            "succeeded": 2 * len(bookings)}
        assert not OutboxEntry.select().where((OutboxEntry.org_id == org_id)
                                              & OutboxEntry.done_at.is_null()).exists()


def _exactly_once(message_ids: list[str], events: list[dict], bookings: list[str]) -> None:
    assert len(message_ids) == len(set(message_ids)) == len(bookings)
    assert len(events) == len({e["id"] for e in events}) == 2 * len(bookings)
    booking_of = {"booking.confirmed": lambda data: data["booking"]["id"],
                  "tickets.issued": lambda data: data["bookingId"]}
    for kind, key in booking_of.items():
        assert sorted(key(e["data"]) for e in events if e["type"] == kind) == sorted(bookings)


def test_redis_stopped_during_sales_then_restarted_every_effect_arrives_once(stack, shop):
    worker = Worker(stack["env"])
    try:
        bookings = [shop.buy() for _ in range(3)]
        message_ids, events = _wait_for(stack, shop.orgid, len(bookings))
        _exactly_once(message_ids, events, bookings)

        stack["redis"].stop()  # the queue is gone, with nothing saved
        bookings += [shop.buy() for _ in range(5)]  # sales go on: the outbox rows committed with them
        assert len(_ours(stack, shop.orgid)[0]) == 3
        time.sleep(1.5)  # the worker's sweeps meet a dead queue and leave the rows be
        stack["redis"].start()  # same port, empty

        message_ids, events = _wait_for(stack, shop.orgid, len(bookings))
        _exactly_once(message_ids, events, bookings)
        _audit(shop.orgid, shop.event_id, bookings)
    finally:
        worker.stop()


def test_worker_killed_mid_delivery_redoes_it_and_the_receiver_drops_the_repeat(stack, shop):
    receiver = stack["receiver"]
    receiver.hold, receiver.arrived = threading.Event(), threading.Event()
    worker = Worker(stack["env"])
    try:
        booking = shop.buy()
        assert receiver.arrived.wait(30), "no webhook reached the receiver"
        worker.kill()  # SIGKILL while the POST is waiting for its answer: the job never finished
        receiver.hold.set()
        worker = Worker(stack["env"])  # a new worker's sweep takes the job again once its lease ran out
        deadline = time.monotonic() + 40
        while len(_ours(stack, shop.orgid)[1]) < 3 and time.monotonic() < deadline:
            time.sleep(0.2)
        message_ids, events = _wait_for(stack, shop.orgid, 1)
        keys = Counter(e["id"] for e in events)
        held = events[0]["id"]  # the POST the worker died waiting on
        assert len(keys) == 2 and keys[held] >= 2  # redone with the same event id: the receiver drops it
        unique = [e for i, e in enumerate(events) if e["id"] not in {x["id"] for x in events[:i]}]
        _exactly_once(sorted(set(message_ids)), unique, [booking])
        _audit(shop.orgid, shop.event_id, [booking])
    finally:
        receiver.hold = None
        worker.stop()


def test_gunicorn_answers_while_redis_is_down(stack, shop):
    """Without any worker and with the queue down, a sale still answers 201 and its rows wait in the outbox."""
    from core.models import OutboxEntry

    stack["redis"].stop()
    try:
        booking = shop.buy()
    finally:
        stack["redis"].start()
    with database.db.connection_context():
        waiting = OutboxEntry.select().where((OutboxEntry.org_id == shop.orgid) & OutboxEntry.done_at.is_null())
        assert {(e.kind, e.name) for e in waiting} >= {("hook", "booking_confirmed"), ("hook", "tickets_issued")}
        assert all(e.payload["arguments"]["booking"]["row"]["id"] == booking for e in waiting)
    assert requests.get(stack["server"].url + "/health", timeout=5).status_code == 200
    assert _ours(stack, shop.orgid) == ([], [])
    with database.db.connection_context():  # no worker will run them: leave no work to later tests' sweeps
        OutboxEntry.delete().where(OutboxEntry.org_id == shop.orgid).execute()

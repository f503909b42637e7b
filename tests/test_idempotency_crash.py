"""Idempotency crash windows (issue 13 item 1): a request whose answer could not be stored, or whose worker was
killed mid-request, is retried with the same key after the takeover time; the work happened exactly once
(purchase, register, comp, confirm-order, refunds, mark-paid, activate, ticket and booking cancel, transfer).

The answer's write is made to fail by a trigger on the idempotency record (PostgreSQL and SQLite alike) that
also refuses the key's release, as a worker killed at that moment would leave it. The killed worker is a real
gunicorn worker, SIGKILLed while the Stripe fake keeps its payment call waiting. Money is counted at the fake.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from audits import counters_match_rows
from procs import ServerProcess, boxoffice_env, free_port, gunicorn_command
from test_purchase_support import guest_purchase, make_event, make_type
from test_stripe import fake, fake_server, use_stripe  # noqa: F401 - the Stripe fake's fixtures

from core import db as database
from core.db import is_sqlite
from core.models import Booking, IdempotencyRecord, Payment, Refund, Ticket, Transfer

PURCHASE = "/client/events/tickets/purchase"
TRIGGER = "idem_answer_fails"


def _trigger_sql(orgid: str) -> list[str]:
    """A trigger that refuses, for one tenant, storing an answer (status_code set) and releasing a key
    (attempt cleared, or the record deleted): the write a crashed worker never makes."""
    table = IdempotencyRecord._meta.table_name
    if is_sqlite():
        when = f"OLD.org_id = '{orgid}'"
        return [f"CREATE TRIGGER {TRIGGER}_u BEFORE UPDATE ON {table} WHEN {when} AND "
                f"(NEW.status_code IS NOT NULL OR NEW.attempt IS NULL) BEGIN SELECT RAISE(ABORT, 'injected'); END",
                f"CREATE TRIGGER {TRIGGER}_d BEFORE DELETE ON {table} WHEN {when} "
                f"BEGIN SELECT RAISE(ABORT, 'injected'); END"]
    return [f"""CREATE FUNCTION {TRIGGER}() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                  IF OLD.org_id = '{orgid}' AND (TG_OP = 'DELETE' OR NEW.status_code IS NOT NULL
                                                 OR NEW.attempt IS NULL) THEN
                    RAISE EXCEPTION 'injected';
                  END IF;
                  RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
                END $$""",
            f"CREATE TRIGGER {TRIGGER} BEFORE UPDATE OR DELETE ON {table} FOR EACH ROW EXECUTE FUNCTION {TRIGGER}()"]


def _drop_sql() -> list[str]:
    table = IdempotencyRecord._meta.table_name
    if is_sqlite():
        return [f"DROP TRIGGER IF EXISTS {TRIGGER}_u", f"DROP TRIGGER IF EXISTS {TRIGGER}_d"]
    return [f"DROP TRIGGER IF EXISTS {TRIGGER} ON {table}", f"DROP FUNCTION IF EXISTS {TRIGGER}()"]


class AnswerStoreFails:
    """While armed, storing an answer or releasing a key fails for the tenant (the crash window)."""

    def __init__(self, orgid: str):
        self.orgid = orgid

    def _run(self, statements: list[str]) -> None:
        with database.db.connection_context(), database.write_transaction():
            for sql in statements:
                database.db.execute_sql(sql)

    def __enter__(self):
        self._run(_trigger_sql(self.orgid))
        return self

    def __exit__(self, *exc):
        self._run(_drop_sql())


@dataclass
class Case:
    """A request sent with a key, and what a user can count afterwards (each must be exactly once)."""

    client: object
    path: str
    body: dict
    event_id: str
    effects: Callable[[], dict]
    answers: tuple[int, ...] = (200, 201)


def _count(model, *where) -> int:
    with database.db.connection_context():
        return model.select().where(*where).count()


def _bookings(event_id: str) -> int:
    return _count(Booking, Booking.event == event_id)


def _paid_with_stripe(tenant, stripe, units: int = 2) -> tuple[str, str]:
    """A stripe-paid, not yet confirmed booking (event id, booking id)."""
    use_stripe(tenant, stripe)
    event_id = make_event(tenant)
    tt = make_type(tenant, event_id, price=20, capacity=10)
    bought = tenant.guest.post(PURCHASE, json=guest_purchase(tenant, event_id, [(tt, units)],
                                                             paymentGateway="stripe"))
    assert bought.status_code == 201, bought.get_json()
    stripe.pay(_intent_of(bought.get_json()["bookingId"]))
    return event_id, bought.get_json()["bookingId"]


def _intent_of(booking_id: str) -> str:
    with database.db.connection_context():
        return Booking.get_by_id(booking_id).payment_ref


def _confirmed_with_stripe(tenant, stripe) -> tuple[str, str, list[str]]:
    event_id, booking_id = _paid_with_stripe(tenant, stripe)
    confirmed = tenant.guest.post("/client/events/tickets/confirm-order", json={"bookingId": booking_id})
    assert confirmed.status_code == 200, confirmed.get_json()
    return event_id, booking_id, [t["id"] for t in confirmed.get_json()["tickets"]]


def _stripe_money(stripe, booking_id: str) -> dict:
    """What moved at Stripe for the booking: intents created, refunds and the amount refunded."""
    intents = [i for i in stripe.intents.values() if i["metadata"].get("bookingId") == booking_id]
    refunds = [r for r in stripe.refunds.values() if r["payment_intent"] in {i["id"] for i in intents}]
    return {"intents": len(intents), "refunds": len(refunds), "refunded": sum(r["amount"] for r in refunds)}


def box_office_case(tenant, stripe) -> Case:
    event_id = make_event(tenant)
    tt = make_type(tenant, event_id, price=15, capacity=10)
    return Case(tenant.staff, "/events/tickets/purchase", guest_purchase(tenant, event_id, [(tt, 2)]), event_id,
                lambda: {"bookings": _bookings(event_id)})


def stripe_purchase_case(tenant, stripe) -> Case:
    use_stripe(tenant, stripe)
    event_id = make_event(tenant)
    tt = make_type(tenant, event_id, price=20, capacity=10)

    def effects():
        with database.db.connection_context():
            booking = Booking.get(Booking.event == event_id)
        return {"bookings": _bookings(event_id), "intents": _stripe_money(stripe, booking.id)["intents"]}

    return Case(tenant.guest, PURCHASE, guest_purchase(tenant, event_id, [(tt, 3)], paymentGateway="stripe"),
                event_id, effects)


def register_case(tenant, stripe) -> Case:
    event_id = make_event(tenant)
    tt = make_type(tenant, event_id, capacity=10)
    return Case(tenant.guest, "/client/events/tickets/register",
                {"eventId": event_id, "ticketTypeId": tt, "quantity": 2, "email": "r@b.co", "name": "R"}, event_id,
                lambda: {"bookings": _bookings(event_id), "tickets": _count(Ticket, Ticket.event == event_id) // 2})


def comp_case(tenant, stripe) -> Case:
    event_id = make_event(tenant)
    tt = make_type(tenant, event_id, capacity=10)
    holders = [{"email": "a@b.co", "name": "A"}, {"email": "b@b.co", "name": "B"}]
    return Case(tenant.staff, "/events/tickets/comp", {"eventId": event_id, "ticketTypeId": tt, "holders": holders},
                event_id,
                lambda: {"bookings": _bookings(event_id), "tickets": _count(Ticket, Ticket.event == event_id) // 2})


def confirm_case(tenant, stripe) -> Case:
    event_id, booking_id = _paid_with_stripe(tenant, stripe)
    return Case(tenant.guest, "/client/events/tickets/confirm-order", {"bookingId": booking_id}, event_id,
                lambda: {"ticket_sets": _count(Ticket, Ticket.booking == booking_id) // 2,
                         "payments": _count(Payment, Payment.booking == booking_id)})


def stale_confirm_case(tenant, stripe) -> Case:
    """Paid after the hold ran out and the seats were sold: confirm-order refunds it (409 `hold_expired`)."""
    from test_stripe import paid_stale_cart

    _, data, event_id, _, _ = paid_stale_cart(tenant, stripe)
    return Case(tenant.guest, "/client/events/tickets/confirm-order", {"bookingId": data["bookingId"]}, event_id,
                _refund_effects(stripe, data["bookingId"], status="hold_expired: "), answers=(409,))


def _refund_effects(stripe, booking_id: str, status: str = "") -> Callable[[], dict]:
    def effects():
        return {"refunds": _count(Refund, (Refund.booking == booking_id) & (Refund.status == "succeeded")
                                  & Refund.reason.startswith(status)),
                "stripe_refunds": _stripe_money(stripe, booking_id)["refunds"]}
    return effects


def refund_ticket_case(tenant, stripe) -> Case:
    event_id, booking_id, tickets = _confirmed_with_stripe(tenant, stripe)
    return Case(tenant.staff, f"/events/tickets/{tickets[0]}/refund", {}, event_id, _refund_effects(stripe, booking_id))


def refund_booking_case(tenant, stripe) -> Case:
    event_id, booking_id, _ = _confirmed_with_stripe(tenant, stripe)
    return Case(tenant.staff, f"/events/bookings/{booking_id}/refund", {"amount": "25.00"}, event_id,
                _refund_effects(stripe, booking_id))


def _pending_offline(tenant) -> tuple[str, str]:
    """A guest's booking of two seats waiting for an offline payment (event id, booking id)."""
    event_id = make_event(tenant)
    tt = make_type(tenant, event_id, price=20, capacity=10)
    bought = tenant.guest.post(PURCHASE, json=guest_purchase(tenant, event_id, [(tt, 2)], paymentGateway="offline"))
    assert bought.status_code == 201, bought.get_json()
    return event_id, bought.get_json()["bookingId"]


def mark_paid_case(tenant, stripe) -> Case:
    event_id, booking_id = _pending_offline(tenant)
    return Case(tenant.staff, f"/events/bookings/{booking_id}/mark-paid", {"reference": "cash"}, event_id,
                lambda: {"ticket_sets": _count(Ticket, Ticket.booking == booking_id) // 2,
                         "payments": _count(Payment, Payment.booking == booking_id)})


def activate_case(tenant, stripe) -> Case:
    event_id = make_event(tenant)
    door = make_type(tenant, event_id, price=12, capacity=10)
    made = tenant.staff.post("/events/tickets/pre-generate", json={"eventId": event_id, "ticketTypeId": door,
                                                                  "quantity": 2})
    assert made.status_code == 201, made.get_json()
    ticket_id = made.get_json()["tickets"][0]["id"]
    body = {"holderEmail": "walkup@example.com", "holderName": "Walk-up",
            "payment": {"amount": 12, "method": "card", "ref": "sq_1"}}
    return Case(tenant.staff, f"/events/tickets/{ticket_id}/activate", body, event_id,
                lambda: {"activated": _count(Ticket, (Ticket.event == event_id) & (Ticket.status == "valid")),
                         "payments": _count(Payment, Payment.booking.in_(Booking.select(Booking.id)
                                                                         .where(Booking.event == event_id)))})


def _tickets_with(event_id: str, status: str) -> int:
    return _count(Ticket, (Ticket.event == event_id) & (Ticket.status == status))


def cancel_ticket_case(tenant, stripe) -> Case:
    event_id, booking_id = _pending_offline(tenant)
    paid = tenant.staff.post(f"/events/bookings/{booking_id}/mark-paid", json={"reference": "cash"})
    ticket_id = paid.get_json()["tickets"][0]["id"]

    def effects():
        with database.db.connection_context():
            bumps = Ticket.get_by_id(ticket_id).secret_version - 1
        return {"cancelled": _tickets_with(event_id, "cancelled"), "qr_revocations": bumps}

    return Case(tenant.staff, f"/events/tickets/{ticket_id}/cancel", {}, event_id, effects)


def cancel_booking_case(tenant, stripe) -> Case:
    event_id, booking_id = _pending_offline(tenant)
    tenant.staff.post(f"/events/bookings/{booking_id}/mark-paid", json={"reference": "cash"})
    return Case(tenant.staff, f"/events/bookings/{booking_id}/cancel", {}, event_id,
                lambda: {"bookings": _count(Booking, (Booking.id == booking_id) & (Booking.status == "cancelled")),
                         "ticket_sets": _tickets_with(event_id, "cancelled") // 2})


def transfer_case(tenant, stripe) -> Case:
    event_id = make_event(tenant)
    tt = make_type(tenant, event_id, capacity=10)
    fan = tenant.customer(name="Giver")
    bought = fan.post(PURCHASE, json={"eventId": event_id, "tickets": [{"ticketTypeId": tt, "quantity": 1}]})
    [ticket] = bought.get_json()["tickets"]
    return Case(fan, f"/client/events/tickets/{ticket['id']}/transfer", {"toEmail": "friend@example.com"},
                event_id, lambda: {"transfers": _count(Transfer, Transfer.ticket == ticket["id"]),
                                   "new_tickets": _count(Ticket, Ticket.event == event_id) - 1}, answers=(201,))


def transfer_by_username_case(tenant, stripe) -> Case:
    case = transfer_case(tenant, stripe)
    username = f"taker-{tenant.orgid}"
    registered = tenant.guest.post("/client/auth/register", json={
        "email": f"{username}@example.com", "password": "correct-horse-9", "username": username})
    assert registered.status_code == 201, registered.get_json()
    return Case(case.client, case.path, {"username": username}, case.event_id, case.effects, answers=(201,))


CASES = [box_office_case, stripe_purchase_case, register_case, comp_case, confirm_case, stale_confirm_case,
         refund_ticket_case, refund_booking_case, mark_paid_case, activate_case, cancel_ticket_case,
         cancel_booking_case, transfer_case, transfer_by_username_case]


@pytest.fixture
def quick_takeover(config, monkeypatch):
    """A running key may be taken over at once instead of after the default (the killed-worker test below
    waits a real second)."""
    monkeypatch.setattr(config, "idempotency_takeover_seconds", 0)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.__name__.removesuffix("_case"))
def test_a_crash_at_storing_the_answer_leaves_the_work_done_once(tenant, fake, quick_takeover, case):  # noqa: F811
    made = case(tenant, fake)
    key = {"Idempotency-Key": f"crash-{case.__name__}"}
    with AnswerStoreFails(tenant.orgid):
        crashed = made.client.post(made.path, json=made.body, headers=key)
    assert crashed.status_code == 500 and crashed.get_json()["type"] == "internal_error"
    retry = made.client.post(made.path, json=made.body, headers=key)
    assert retry.status_code in made.answers, retry.get_json()
    assert "Idempotent-Replayed" not in retry.headers
    assert set(made.effects().values()) == {1}, made.effects()
    replay = made.client.post(made.path, json=made.body, headers=key)
    assert (replay.status_code, replay.get_json()) == (retry.status_code, retry.get_json())
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert set(made.effects().values()) == {1}, made.effects()
    with database.db.connection_context():
        assert counters_match_rows(made.event_id)


def _worker_pids(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children")
    return [int(pid) for pid in children.read_text().split()] if children.exists() else []


def test_a_worker_killed_while_the_gateway_answers_resumes_with_the_same_booking(tenant, fake):  # noqa: F811
    use_stripe(tenant, fake, timeout="30")
    event_id = make_event(tenant)
    tt = make_type(tenant, event_id, price=20, capacity=10)
    body = guest_purchase(tenant, event_id, [(tt, 2)], paymentGateway="stripe")
    headers = {"orgid": tenant.orgid, "Idempotency-Key": "killed-worker"}
    port = free_port()
    env = boxoffice_env(BOXOFFICE_IDEMPOTENCY_TAKEOVER_SECONDS="1", BOXOFFICE_WEBHOOKS_ALLOW_PRIVATE="1")
    with ServerProcess(gunicorn_command(port, workers=1), port, env=env) as server:
        fake.mode, fake.sleep_seconds = "timeout", 20
        first: list = []
        sender = threading.Thread(target=lambda: first.append(_post(server.url + PURCHASE, body, headers)))
        sender.start()
        deadline = time.monotonic() + 20
        while not fake.calls("POST", "/v1/payment_intents") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert fake.calls("POST", "/v1/payment_intents"), server.output()
        (worker,) = _worker_pids(server.proc.pid)
        os.kill(worker, signal.SIGKILL)
        sender.join(timeout=30)
        assert first and not isinstance(first[0], requests.Response) or first[0].status_code >= 500
        assert _bookings(event_id) == 1   # the booking's phase had committed before the gateway call
        fake.mode = "ok"
        retry = _post(server.url + PURCHASE, body, headers)
        assert isinstance(retry, requests.Response) and retry.status_code == 201, (retry, server.output())
        replay = _post(server.url + PURCHASE, body, headers)
        assert replay.status_code == 201 and replay.json() == retry.json()
        assert replay.headers["Idempotent-Replayed"] == "true"
    booking_id = retry.json()["bookingId"]
    assert _bookings(event_id) == 1 and _stripe_money(fake, booking_id)["intents"] == 1
    with database.db.connection_context():
        assert Booking.get_by_id(booking_id).status == "pending" and counters_match_rows(event_id)
        assert Booking.get_by_id(booking_id).seats == 2


def _post(url: str, body: dict, headers: dict):
    try:
        return requests.post(url, json=body, headers=headers, timeout=60)
    except requests.RequestException as error:
        return error


def test_a_run_taken_over_while_alive_cannot_commit_its_answer(tenant, config, monkeypatch):
    """A slow run (its gateway call outlasts the takeover time) loses its key to a retry: the retry resumes with
    the run's booking and answers; the slow run's last phase rolls back and it answers 409."""
    from ticket_factory import enabled_plugin

    from core.hookspecs import hookimpl
    from core.payments import PaymentProvider, Step

    calls, release = [], threading.Event()

    class SlowProvider(PaymentProvider):
        identifier = "slowpay"
        capabilities = frozenset({Step.CREATE})

        def create_payment(self, org, booking, settings):
            calls.append(booking.id)
            if len(calls) == 1:
                release.wait(10)
            return {"reference": f"slow_{booking.id}", "client_secret": f"slow_{booking.id}_secret"}

    class Slow:
        @hookimpl
        def payment_gateways(self):
            return [SlowProvider()]

    event_id = make_event(tenant)
    tt = make_type(tenant, event_id, price=5, capacity=10)
    body = guest_purchase(tenant, event_id, [(tt, 1)], paymentGateway="slowpay")
    key = {"Idempotency-Key": "slow-run"}
    with enabled_plugin(tenant, Slow(), "slowpay"):
        first: list = []
        slow = threading.Thread(target=lambda: first.append(tenant.guest.post(PURCHASE, json=body, headers=key)))
        slow.start()
        deadline = time.monotonic() + 10
        while not calls and time.monotonic() < deadline:
            time.sleep(0.02)
        monkeypatch.setattr(config, "idempotency_takeover_seconds", 0)
        retry = tenant.guest.post(PURCHASE, json=body, headers=key)
        release.set()
        slow.join(10)
    assert retry.status_code == 201, retry.get_json()
    assert first[0].status_code == 409 and first[0].get_json()["type"] == "idempotency_in_progress"
    assert calls == [retry.get_json()["bookingId"]] * 2 and _bookings(event_id) == 1
    replay = tenant.guest.post(PURCHASE, json=body, headers=key)
    assert (replay.status_code, replay.get_json()) == (201, retry.get_json())

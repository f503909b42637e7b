"""Races over real HTTP (threaded server): no overselling, confirm once, one booking per Idempotency-Key."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from audits import counters_match_rows
from peewee import fn
from test_purchase_support import age_booking, counters, guest_purchase, make_event, make_type

from core import db as database
from core.models import Booking, Payment, Ticket

PURCHASE = "/client/events/tickets/purchase"


def _post(server, tenant, path, body, *, staff=False, headers=None):
    sent = {"orgid": tenant.orgid, **(headers or {})}
    if staff:
        sent["Authorization"] = f"Bearer {tenant.staff_token}"
    return requests.post(server.url + path, json=body, headers=sent, timeout=60)


def _run(count, fn_, workers=32):
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(fn_, range(count)))


def test_200_buyers_for_50_seats(live_server, tenant):
    event = make_event(tenant, capacity=50)
    tt = make_type(tenant, event, name="Flash", price=20, capacity=80)   # the event capacity binds

    def buy(i):
        body = guest_purchase(tenant, event, [(tt, 1)])
        body["email"] = f"buyer{i}@example.com"
        return _post(live_server, tenant, PURCHASE, body)

    answers = _run(200, buy)
    assert sorted({a.status_code for a in answers}) == [201, 409], {a.status_code for a in answers}
    held = [a.json()["bookingId"] for a in answers if a.status_code == 201]
    assert len(held) == 50
    assert all(a.json()["type"] == "sold_out" for a in answers if a.status_code == 409)
    assert counters(event, tt) == {"event_sold": 0, "event_held": 50, "tickets": 0, "sold": 0, "held": 50}

    paid = _run(len(held), lambda i: _post(live_server, tenant, f"/events/bookings/{held[i]}/mark-paid",
                                           {"reference": f"cash-{i}"}, staff=True))
    assert {p.status_code for p in paid} == {200}
    assert counters(event, tt) == {"event_sold": 50, "event_held": 0, "tickets": 50, "sold": 50, "held": 0}
    with database.db.connection_context():
        assert counters_match_rows(event)
        seats = (Booking.select(fn.COALESCE(fn.SUM(Booking.seats), 0))
                 .where((Booking.event == event) & (Booking.status == "confirmed")).scalar())
        assert seats == 50


def test_free_flash_sale_with_multi_seat_orders(live_server, tenant):
    event = make_event(tenant, capacity=None)
    tt = make_type(tenant, event, name="Free", price=0, capacity=31)

    def buy(i):
        return _post(live_server, tenant, PURCHASE, guest_purchase(tenant, event, [(tt, 1 + i % 3)]))

    answers = _run(120, buy)
    seats = sum(len(a.json()["tickets"]) for a in answers if a.status_code == 201)
    assert 29 <= seats <= 31 and all(a.status_code in (201, 409) for a in answers)
    state = counters(event, tt)
    assert state["sold"] == state["tickets"] == seats and state["held"] == 0
    with database.db.connection_context():
        assert counters_match_rows(event)


def test_concurrent_confirms_issue_tickets_once(live_server, tenant):
    event = make_event(tenant)
    tt = make_type(tenant, event, price=10, capacity=10)
    order = _post(live_server, tenant, PURCHASE, guest_purchase(tenant, event, [(tt, 3)])).json()
    with database.db.connection_context():
        booking = Booking.get_by_id(order["bookingId"])
        Booking.update(payment_data=dict(booking.payment_data, marked_paid={"reference": "cash"})).where(
            Booking.id == booking.id).execute()
    answers = _run(16, lambda i: _post(live_server, tenant, "/client/events/tickets/confirm-order",
                                       {"bookingId": order["bookingId"]}), workers=16)
    assert {a.status_code for a in answers} == {200}
    ids = {tuple(t["id"] for t in a.json()["tickets"]) for a in answers}
    assert len(ids) == 1 and len(next(iter(ids))) == 3
    with database.db.connection_context():
        assert Ticket.select().where(Ticket.booking == order["bookingId"]).count() == 3
    assert counters(event, tt) == {"event_sold": 3, "event_held": 0, "tickets": 3, "sold": 3, "held": 0}


def test_concurrent_mark_paid_records_one_payment_and_issues_once(live_server, tenant):
    """Twelve staff mark one box-office order paid with different references at once: one record wins, and
    the booking, its payment row and every answer agree on it."""
    event = make_event(tenant)
    tt = make_type(tenant, event, price=10, capacity=10)
    order = _post(live_server, tenant, "/events/tickets/purchase", guest_purchase(tenant, event, [(tt, 2)]),
                  staff=True).json()
    answers = _run(12, lambda i: _post(live_server, tenant, f"/events/bookings/{order['bookingId']}/mark-paid",
                                       {"reference": f"cash-{i}"}, staff=True), workers=12)
    assert {a.status_code for a in answers} == {200}
    assert len({tuple(t["id"] for t in a.json()["tickets"]) for a in answers}) == 1
    with database.db.connection_context():
        booking = Booking.get_by_id(order["bookingId"])
        [payment] = list(Payment.select().where(Payment.booking == booking.id))
        assert booking.payment_data["marked_paid"]["reference"] == booking.payment_ref == payment.reference
        assert Ticket.select().where(Ticket.booking == booking.id).count() == 2
    assert counters(event, tt) == {"event_sold": 2, "event_held": 0, "tickets": 2, "sold": 2, "held": 0}


def test_concurrent_purchases_with_one_key_make_one_booking(live_server, tenant):
    event = make_event(tenant)
    tt = make_type(tenant, event, price=10, capacity=100)
    body = guest_purchase(tenant, event, [(tt, 2)])
    answers = _run(12, lambda i: _post(live_server, tenant, PURCHASE, body, headers={"Idempotency-Key": "once"}),
                   workers=12)
    assert {a.status_code for a in answers} <= {201, 409}
    created = [a.json()["bookingId"] for a in answers if a.status_code == 201]
    assert created and len(set(created)) == 1
    with database.db.connection_context():
        assert Booking.select().where(Booking.event == event).count() == 1
    assert counters(event, tt)["held"] == 2


def test_many_readers_of_an_overdue_hold_give_its_seats_back_once(live_server, tenant):
    event = make_event(tenant, capacity=6)                  # the event's capacity binds the ticket type
    tt = make_type(tenant, event, price=10, capacity=20)
    overdue, live = (_post(live_server, tenant, PURCHASE, guest_purchase(tenant, event, [(tt, seats)]))
                     .json()["bookingId"] for seats in (2, 3))
    age_booking(overdue)
    readers = 24
    start = threading.Barrier(readers)

    def read(i):
        start.wait()
        return requests.get(f"{live_server.url}/client/events/{event}/ticket-types",
                            headers={"orgid": tenant.orgid}, timeout=60)

    answers = _run(readers, read, workers=readers)
    assert {a.status_code for a in answers} == {200}
    assert {a.json()["data"][0]["available"] for a in answers} == {3}    # nobody counted the overdue hold
    assert counters(event, tt) == {"event_sold": 0, "event_held": 3, "tickets": 0, "sold": 0, "held": 3}
    with database.db.connection_context():
        assert counters_match_rows(event)
        assert {b.id: b.status for b in Booking.select().where(Booking.event == event)} == {
            overdue: "expired", live: "pending"}


@pytest.mark.parametrize("seats_gone", [False, True])
def test_concurrent_confirms_and_expiry_of_a_paid_overdue_hold(live_server, tenant, seats_gone):
    """Seats free: re-reserved and issued once; seats gone: every answer is 409 and it is refunded once."""
    from test_purchase_support import age_booking

    from core.models import Payment, Refund
    from core.services import holds

    event = make_event(tenant)
    tt = make_type(tenant, event, price=10, capacity=3)
    order = _post(live_server, tenant, PURCHASE, guest_purchase(tenant, event, [(tt, 3)])).json()
    age_booking(order["bookingId"])
    if seats_gone:   # the next buyer expires the overdue hold and takes every seat
        assert _post(live_server, tenant, PURCHASE, guest_purchase(tenant, event, [(tt, 3)])).status_code == 201
    with database.db.connection_context():
        booking = Booking.get_by_id(order["bookingId"])
        Booking.update(payment_data=dict(booking.payment_data, marked_paid={"reference": "cash"})).where(
            Booking.id == booking.id).execute()

    def attempt(i):
        if i % 4 == 0:
            with database.db.connection_context():
                return holds.expire_holds_job()
        return _post(live_server, tenant, "/client/events/tickets/confirm-order", {"bookingId": order["bookingId"]})

    answers = [a for a in _run(16, attempt, workers=16) if not isinstance(a, int)]
    with database.db.connection_context():
        payments = Payment.select().where(Payment.booking == order["bookingId"]).count()
        refunds = Refund.select().where(Refund.booking == order["bookingId"]).count()
        tickets = Ticket.select().where(Ticket.booking == order["bookingId"]).count()
        assert counters_match_rows(event)
    assert payments == 1
    if seats_gone:
        assert {(a.status_code, a.json()["type"], a.json()["refunded"]) for a in answers} == \
            {(409, "hold_expired", True)}
        assert refunds == 1 and tickets == 0
        assert counters(event, tt) == {"event_sold": 0, "event_held": 3, "tickets": 0, "sold": 0, "held": 3}
    else:
        assert {a.status_code for a in answers} == {200}
        assert len({tuple(t["id"] for t in a.json()["tickets"]) for a in answers}) == 1
        assert refunds == 0 and tickets == 3
        assert counters(event, tt) == {"event_sold": 3, "event_held": 0, "tickets": 3, "sold": 3, "held": 0}

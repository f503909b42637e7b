"""Hold expiry: the periodic job and the lazy check give seats back exactly once and fire `booking_expired`."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from test_purchase_support import age_booking, counters, guest_purchase, iso, make_event, make_type

from core.hookspecs import hookimpl

PURCHASE = "/client/events/tickets/purchase"


class ExpiryRecorder:
    """Records booking_expired calls."""

    def __init__(self):
        self.expired: list[str] = []

    @hookimpl
    def booking_expired(self, org, booking):
        self.expired.append(booking.id)


def _recorder(tenant) -> ExpiryRecorder:
    from core.plugins import get_host

    host = get_host()
    plugin = host.pm.get_plugin("test-expiry")
    if plugin is None:
        plugin = ExpiryRecorder()
        host.register(plugin, "test-expiry")
    tenant.enable("test-expiry")
    return plugin


def _hold(tenant, event, tt, units=1) -> str:
    response = tenant.guest.post(PURCHASE, json=guest_purchase(tenant, event, [(tt, units)]))
    assert response.status_code == 201, response.get_json()
    return response.get_json()["bookingId"]


def test_job_expires_overdue_holds_once(tenant):
    recorder = _recorder(tenant)
    event = make_event(tenant, capacity=10)
    tt = make_type(tenant, event, price=5, capacity=5)
    overdue = _hold(tenant, event, tt, 3)
    fresh = _hold(tenant, event, tt, 1)
    age_booking(overdue)
    from core import db as database
    from core.services import holds

    with database.db.connection_context():
        holds.expire_holds_job()
        holds.expire_holds_job()
    assert counters(event, tt) == {"event_sold": 0, "event_held": 1, "tickets": 0, "sold": 0, "held": 1}
    assert recorder.expired.count(overdue) == 1 and fresh not in recorder.expired


def test_concurrent_expiry_releases_seats_once(tenant):
    event = make_event(tenant, capacity=10)
    tt = make_type(tenant, event, price=5, capacity=5)
    booking_id = _hold(tenant, event, tt, 4)
    age_booking(booking_id)
    from core import db as database
    from core.models import Booking
    from core.services import holds

    results: list[bool] = []

    def expire():
        with database.db.connection_context():
            results.append(holds.expire_booking(Booking.get_by_id(booking_id)))

    threads = [threading.Thread(target=expire) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(True) == 1
    assert counters(event, tt)["held"] == 0 and counters(event)["event_held"] == 0


def test_sold_out_purchase_expires_overdue_holds_lazily(tenant):
    event = make_event(tenant)
    tt = make_type(tenant, event, price=5, capacity=2)
    stale = _hold(tenant, event, tt, 2)
    full = tenant.guest.post(PURCHASE, json=guest_purchase(tenant, event, [(tt, 1)]))
    assert full.status_code == 409
    age_booking(stale)
    assert _hold(tenant, event, tt, 2)
    assert counters(event, tt)["held"] == 2


def test_confirm_reads_expire_lazily(tenant):
    event = make_event(tenant)
    tt = make_type(tenant, event, price=5, capacity=2)
    stale = _hold(tenant, event, tt, 2)
    age_booking(stale)
    response = tenant.guest.post("/client/events/tickets/confirm-order", json={"bookingId": stale})
    assert response.status_code == 402       # offline, not marked paid: still retryable
    from core import db as database
    from core.models import Booking

    with database.db.connection_context():
        assert Booking.get_by_id(stale).status == "expired"
    assert counters(event, tt)["held"] == 0


# --- reads that show seats or bookings release the overdue holds they would count ----------------------

def _one(items: list, item_id: str) -> dict:
    return next(item for item in items if item["id"] == item_id)


# Each read a buyer or organiser uses to decide "can I buy", and how to find the figure it shows.
SEAT_READS = {
    "client ticket types": lambda t, e, tt: _one(t.guest.get(f"/client/events/{e}/ticket-types")
                                                 .get_json()["data"], tt)["available"],
    "client event with types": lambda t, e, tt: _one(t.guest.get(f"/client/events/{e}?include=registration_types")
                                                     .get_json()["data"]["registration_types"], tt)["available"],
    "client event counts": lambda t, e, tt: t.guest.get(f"/client/events/{e}?fields=counts")
                                             .get_json()["data"]["counts"]["available"],
    "client list with types": lambda t, e, tt: _one(_one(t.guest.get("/client/events?include=registration_types")
                                                         .get_json()["data"], e)["registration_types"],
                                                    tt)["available"],
    "staff event ticket types": lambda t, e, tt: _one(t.staff.get(f"/events/{e}/ticket-types").get_json()["data"],
                                                      tt)["available"],
    "staff ticket type": lambda t, e, tt: t.staff.get(f"/events/ticket-types/{tt}").get_json()["data"]["available"],
    "data api get": lambda t, e, tt: t.staff.get(f"/data/event_ticket_type/{tt}").get_json()["data"]["available"],
    "data api list": lambda t, e, tt: _one(t.staff.get(f"/data/event_ticket_type/list?event={e}")
                                           .get_json()["data"], tt)["available"],
    "staff event counts": lambda t, e, tt: t.staff.get(f"/events/{e}?fields=counts")
                                            .get_json()["data"]["counts"]["available"],
    "staff list counts": lambda t, e, tt: _one(t.staff.get("/events?fields=counts").get_json()["data"],
                                               e)["counts"]["available"],
}


def _overdue_and_fresh(tenant, event, tt) -> tuple[str, str]:
    """An overdue 2-seat hold and a live 3-seat one (a second release would eat into the live one)."""
    overdue, fresh = _hold(tenant, event, tt, 2), _hold(tenant, event, tt, 3)
    age_booking(overdue)
    return overdue, fresh


@pytest.mark.parametrize("read", list(SEAT_READS))
def test_reads_that_show_seats_leave_overdue_holds_out(tenant, read):
    recorder = _recorder(tenant)
    event = make_event(tenant, capacity=6)                  # the event's capacity binds: 6 - 3 live = 3 left
    tt = make_type(tenant, event, price=5, capacity=20)
    overdue, fresh = _overdue_and_fresh(tenant, event, tt)
    assert SEAT_READS[read](tenant, event, tt) == 3
    assert SEAT_READS[read](tenant, event, tt) == 3
    assert counters(event, tt) == {"event_sold": 0, "event_held": 3, "tickets": 0, "sold": 0, "held": 3}
    assert recorder.expired.count(overdue) == 1 and fresh not in recorder.expired


def test_session_seats_are_released_by_the_parent_reads(tenant):
    parent = tenant.staff.post("/events", json={"event": {
        "type": "parent", "name": "Conf", "published_at": iso(-dt.timedelta(minutes=5)),
        "sessions": [{"name": "Keynote", "starts_at": iso(dt.timedelta(days=7)), "capacity": 6,
                      "ends_at": iso(dt.timedelta(days=7, hours=1)), "published_at": iso(-dt.timedelta(minutes=5))}],
    }}).get_json()["data"]
    session = tenant.guest.get(f"/client/events/{parent['id']}/sessions").get_json()["data"][0]["id"]
    tt = make_type(tenant, session, price=5, capacity=20)
    _overdue_and_fresh(tenant, session, tt)
    nested = tenant.guest.get(f"/client/events/{parent['id']}?include=sessions,registration_types").get_json()
    assert nested["data"]["sessions"][0]["registration_types"][0]["available"] == 3
    listed = tenant.guest.get(f"/client/events/{parent['id']}/sessions?fields=counts").get_json()
    assert listed["data"][0]["counts"] == {"capacity": 6, "sold": 0, "held": 3, "available": 3}
    assert counters(session, tt)["held"] == 3


def test_plain_event_list_leaves_holds_to_the_job(tenant):
    event = make_event(tenant, capacity=6)
    tt = make_type(tenant, event, price=5, capacity=20)
    _overdue_and_fresh(tenant, event, tt)
    listed = tenant.guest.get("/client/events")
    assert listed.status_code == 200 and "counts" not in _one(listed.get_json()["data"], event)
    assert counters(event, tt)["held"] == 5                 # no write on the hot list: it shows no seats
    assert SEAT_READS["client list with types"](tenant, event, tt) == 3


def test_my_bookings_show_an_overdue_hold_as_expired(tenant):
    recorder = _recorder(tenant)
    fan = tenant.customer()
    event = make_event(tenant, capacity=6)
    tt = make_type(tenant, event, price=5, capacity=20)
    overdue, fresh = (fan.post(PURCHASE, json=guest_purchase(tenant, event, [(tt, seats)])).get_json()["bookingId"]
                      for seats in (2, 3))
    age_booking(overdue)
    for _ in range(2):
        bookings = fan.get("/client/events/booking").get_json()["bookings"]
        assert {b["id"]: b["status"] for b in bookings} == {overdue: "expired", fresh: "pending"}
    assert counters(event, tt) == {"event_sold": 0, "event_held": 3, "tickets": 0, "sold": 0, "held": 3}
    assert recorder.expired.count(overdue) == 1 and fresh not in recorder.expired
    assert SEAT_READS["client ticket types"](tenant, event, tt) == 3

"""Hold expiry: the periodic job and the lazy check give seats back exactly once and fire `booking_expired`."""

from __future__ import annotations

import threading

from test_purchase_support import age_booking, counters, guest_purchase, make_event, make_type

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

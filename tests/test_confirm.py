"""Confirm-order: the gateway is asked, the booking flips once, tickets are issued once, stale holds refund."""

from __future__ import annotations

import pytest
from test_purchase_support import age_booking, counters, guest_purchase, make_event, make_type

from core.hookspecs import hookimpl
from core.payments import PaymentCheck, PaymentProvider, RefundResult, Step

PURCHASE = "/client/events/tickets/purchase"
CONFIRM = "/client/events/tickets/confirm-order"


class FakePay(PaymentProvider):
    """A paying gateway under the test's control: `paid[booking_id] = (amount, currency)`."""

    identifier = "fakepay"
    capabilities = frozenset({Step.CREATE, Step.VERIFY, Step.REFUND})

    def __init__(self):
        self.paid: dict[str, tuple[int, str]] = {}
        self.refunds: list[tuple[str, int]] = []

    @hookimpl
    def payment_gateways(self):
        return [self]

    def create_payment(self, org, booking, settings):
        return {"reference": f"fp_{booking.id}", "client_secret": f"fp_{booking.id}_secret", "data": {}}

    def verify_payment(self, org, booking, payment_ref, settings):
        if booking.id not in self.paid:
            return PaymentCheck(paid=False, reason="Card not charged yet.")
        amount, currency = self.paid[booking.id]
        return PaymentCheck(paid=True, reference=f"fp_{booking.id}", amount=amount, currency=currency)

    def refund(self, org, booking, payment_ref, amount, settings):
        self.refunds.append((booking.id, amount))
        return RefundResult(succeeded=True, reference=f"re_{booking.id}", amount=amount)


@pytest.fixture
def fakepay(app, tenant):
    from core.plugins import get_host

    host = get_host()
    plugin = host.pm.get_plugin("test-fakepay")
    if plugin is None:
        plugin = FakePay()
        host.register(plugin, "test-fakepay")
    plugin.paid.clear()
    plugin.refunds.clear()
    tenant.enable("test-fakepay")
    return plugin


def _buy(tenant, event, tt, units=1, gateway="fakepay"):
    response = tenant.guest.post(PURCHASE, json=guest_purchase(tenant, event, [(tt, units)], paymentGateway=gateway))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_confirm_after_payment_issues_tickets_once(tenant, fakepay):
    event = make_event(tenant, capacity=10)
    tt = make_type(tenant, event, price="12.50", capacity=4)
    order = _buy(tenant, event, tt, 2)
    assert order["clientSecret"] == f"fp_{order['bookingId']}_secret" and order["paymentRef"].startswith("fp_")
    unpaid = tenant.guest.post(CONFIRM, json={"orderId": order["orderId"], "paymentGateway": "fakepay"})
    assert unpaid.status_code == 402 and unpaid.get_json()["type"] == "payment_not_completed"
    assert counters(event, tt)["held"] == 2 and counters(event)["tickets"] == 0
    fakepay.paid[order["bookingId"]] = (2500, "USD")
    first = tenant.guest.post(CONFIRM, json={"bookingId": order["bookingId"], "paymentRef": order["paymentRef"]})
    assert first.status_code == 200, first.get_json()
    body = first.get_json()
    assert body["status"] == "confirmed" and len(body["tickets"]) == 2 and body["expiresAt"] is None
    again = tenant.guest.post(CONFIRM, json={"bookingId": order["bookingId"]})
    assert again.status_code == 200
    assert [t["id"] for t in again.get_json()["tickets"]] == [t["id"] for t in body["tickets"]]
    assert counters(event, tt) == {"event_sold": 2, "event_held": 0, "tickets": 2, "sold": 2, "held": 0}
    from audits import counters_match_rows

    from core import db as database
    from core.models import Payment

    with database.db.connection_context():
        payments = list(Payment.select().where(Payment.booking == order["bookingId"]))
        assert [(p.amount, p.status, p.gateway) for p in payments] == [(2500, "succeeded", "fakepay")]
        assert counters_match_rows(event)


def test_amount_mismatch_and_wrong_gateway_issue_nothing(tenant, fakepay):
    event = make_event(tenant)
    tt = make_type(tenant, event, price=20)
    order = _buy(tenant, event, tt)
    fakepay.paid[order["bookingId"]] = (1, "USD")
    short = tenant.guest.post(CONFIRM, json={"bookingId": order["bookingId"]})
    assert short.status_code == 402 and short.get_json()["type"] == "payment_mismatch"
    fakepay.paid[order["bookingId"]] = (2000, "EUR")
    assert tenant.guest.post(CONFIRM, json={"bookingId": order["bookingId"]}).status_code == 402
    wrong = tenant.guest.post(CONFIRM, json={"bookingId": order["bookingId"], "paymentGateway": "offline"})
    assert wrong.status_code == 422 and wrong.get_json()["type"] == "gateway_mismatch"
    assert counters(event)["tickets"] == 0


def test_confirm_bad_input_and_isolation(tenant, other_tenant, fakepay):
    assert tenant.guest.post(CONFIRM, json={}).get_json()["type"] == "validation_error"
    missing = tenant.guest.post(CONFIRM, json={"bookingId": "nope"})
    assert missing.status_code == 404 and missing.get_json()["type"] == "booking_not_found"
    event = make_event(tenant)
    order = _buy(tenant, event, make_type(tenant, event, price=5))
    foreign = other_tenant.guest.post(CONFIRM, json={"bookingId": order["bookingId"]})
    assert foreign.status_code == 404


def test_paid_after_expiry_with_seats_free_is_re_reserved(tenant, fakepay):
    event = make_event(tenant)
    tt = make_type(tenant, event, price=10, capacity=2)
    order = _buy(tenant, event, tt, 2)
    age_booking(order["bookingId"])
    from core import db as database
    from core.services import holds

    with database.db.connection_context():
        assert holds.expire_holds_job() >= 1
    assert counters(event, tt)["held"] == 0
    fakepay.paid[order["bookingId"]] = (2000, "USD")
    response = tenant.guest.post(CONFIRM, json={"bookingId": order["bookingId"]})
    assert response.status_code == 200 and response.get_json()["status"] == "confirmed"
    assert counters(event, tt) == {"event_sold": 2, "event_held": 0, "tickets": 2, "sold": 2, "held": 0}


def test_paid_after_expiry_with_seats_gone_is_refunded(tenant, fakepay):
    event = make_event(tenant)
    tt = make_type(tenant, event, price=10, capacity=2)
    late = _buy(tenant, event, tt, 2)
    age_booking(late["bookingId"])
    # the next buyer's purchase finds the event full, expires the overdue hold lazily and takes the seats
    taker = _buy(tenant, event, tt, 2, gateway="offline")
    fakepay.paid[late["bookingId"]] = (2000, "USD")
    first = tenant.guest.post(CONFIRM, json={"bookingId": late["bookingId"]})
    assert first.status_code == 409, first.get_json()
    assert first.get_json()["type"] == "hold_expired" and first.get_json()["refunded"] is True
    again = tenant.guest.post(CONFIRM, json={"bookingId": late["bookingId"]})
    assert again.status_code == 409 and again.get_json()["refunded"] is True
    assert fakepay.refunds == [(late["bookingId"], 2000)]       # refunded exactly once
    assert counters(event, tt) == {"event_sold": 0, "event_held": 2, "tickets": 0, "sold": 0, "held": 2}
    assert taker["status"] == "pending"


def test_unpaid_after_expiry_with_seats_gone_is_409_and_changes_nothing(tenant, fakepay):
    event = make_event(tenant)
    tt = make_type(tenant, event, price=10, capacity=1)
    stale = _buy(tenant, event, tt)
    age_booking(stale["bookingId"])
    _buy(tenant, event, tt, gateway="offline")   # expires the stale hold lazily and takes the seat
    before = counters(event, tt)
    for _ in range(2):
        response = tenant.guest.post(CONFIRM, json={"bookingId": stale["bookingId"]})
        body = response.get_json()
        assert response.status_code == 409, body
        assert body["type"] == "hold_expired" and body["refunded"] is False
        assert "nothing was issued" in body["message"]
    # the buyer pays the dead cart anyway: the next confirm-order refunds it instead of issuing
    fakepay.paid[stale["bookingId"]] = (1000, "USD")
    late = tenant.guest.post(CONFIRM, json={"bookingId": stale["bookingId"]}).get_json()
    assert late["type"] == "hold_expired" and late["refunded"] is True
    assert fakepay.refunds == [(stale["bookingId"], 1000)]
    assert counters(event, tt) == before == {"event_sold": 0, "event_held": 1, "tickets": 0, "sold": 0, "held": 1}


def test_paid_confirm_fires_tickets_issued_once_with_the_tickets(tenant, fakepay):
    from ticket_factory import recorded_hooks

    event = make_event(tenant)
    tt = make_type(tenant, event, price=10, capacity=5)
    with recorded_hooks(tenant, "tickets_issued", "booking_confirmed") as calls:
        order = _buy(tenant, event, tt, 2)
        assert calls == []                       # a pending booking announces nothing
        fakepay.paid[order["bookingId"]] = (2000, "USD")
        first = tenant.guest.post(CONFIRM, json={"bookingId": order["bookingId"]})
        assert first.status_code == 200, first.get_json()
        again = tenant.guest.post(CONFIRM, json={"bookingId": order["bookingId"]})
        assert again.status_code == 200
    assert [name for name, _ in calls] == ["booking_confirmed", "tickets_issued"]
    issued = calls[1][1]
    assert issued["booking"].id == order["bookingId"] and issued["booking"].status == "confirmed"
    assert sorted(t.id for t in issued["tickets"]) == sorted(t["id"] for t in first.get_json()["tickets"])
    assert {t.holder_email for t in issued["tickets"]} == {first.get_json()["email"]}


def test_offline_mark_paid_confirms_once(tenant):
    event = make_event(tenant)
    tt = make_type(tenant, event, price=15, capacity=3)
    order = _buy(tenant, event, tt, 2, gateway="offline")
    waiting = tenant.guest.post(CONFIRM, json={"bookingId": order["bookingId"]})
    assert waiting.status_code == 402
    path = f"/events/bookings/{order['bookingId']}/mark-paid"
    assert tenant.guest.post(path, json={"reference": "cash-1"}).status_code == 401
    assert tenant.customer().post(path, json={"reference": "cash-1"}).status_code == 403
    marked = tenant.staff.post(path, json={"reference": "cash-1", "note": "paid at desk"})
    assert marked.status_code == 200, marked.get_json()
    assert marked.get_json()["status"] == "confirmed" and len(marked.get_json()["tickets"]) == 2
    again = tenant.staff.post(path, json={"reference": "cash-2"})
    assert [t["id"] for t in again.get_json()["tickets"]] == [t["id"] for t in marked.get_json()["tickets"]]
    client = tenant.guest.post(CONFIRM, json={"bookingId": order["bookingId"]})
    assert client.status_code == 200 and len(client.get_json()["tickets"]) == 2
    assert counters(event, tt)["sold"] == 2 and counters(event)["tickets"] == 2
    from core import db as database
    from core.models import Booking

    with database.db.connection_context():
        marked_paid = Booking.get_by_id(order["bookingId"]).payment_data["marked_paid"]
    assert marked_paid["reference"] == "cash-1" and marked_paid["by"]


def test_mark_paid_refuses_other_gateways(tenant, fakepay):
    event = make_event(tenant)
    order = _buy(tenant, event, make_type(tenant, event, price=5))
    response = tenant.staff.post(f"/events/bookings/{order['bookingId']}/mark-paid", json={"reference": "x"})
    assert response.status_code == 422 and response.get_json()["type"] == "not_offline_booking"

"""Refund records: the staff's reason is kept and shown; box-office refunds are owed until staff pay them out."""

from __future__ import annotations

from test_cancel_refund import refunds_of
from test_confirm import _buy
from test_purchase_support import age_booking, make_type
from test_purchase_support import make_event as make_bare_event
from ticket_factory import fake_gateway, issue, make_event, reload


def test_staff_reason_reaches_refund_record_and_answer(tenant):
    _, ticket_type = make_event(tenant)
    first, second = issue(tenant, ticket_type, 2)
    one = tenant.staff.post(f"/events/tickets/{first.id}/refund", json={"reason": "Customer ill"})
    assert one.status_code == 200 and one.get_json()["refund"]["reason"] == "Customer ill"
    rest = tenant.staff.post(f"/events/bookings/{first.booking_id}/refund", json={"reason": "Event moved"})
    assert rest.status_code == 200 and rest.get_json()["refund"]["reason"] == "Event moved"
    assert [r.reason for r in refunds_of(first.booking_id)] == ["Customer ill", "Event moved"]


def test_gateway_refund_succeeds_and_cannot_be_paid_out(tenant):
    _, ticket_type = make_event(tenant)
    with fake_gateway(tenant, "fakepay"):
        (ticket,) = issue(tenant, ticket_type, 1, gateway="fakepay")
        body = tenant.staff.post(f"/events/tickets/{ticket.id}/refund", json={}).get_json()
    assert body["refund"]["status"] == "succeeded" and body["refund"]["paidOutAt"] is None
    again = tenant.staff.post(f"/events/refunds/{body['refund']['id']}/paid-out", json={})
    assert again.status_code == 409 and again.get_json()["type"] == "refund_not_owed"


def test_offline_refund_is_owed_until_paid_out_once(tenant, other_tenant):
    _, ticket_type = make_event(tenant)
    (ticket,) = issue(tenant, ticket_type, 1)
    body = tenant.staff.post(f"/events/tickets/{ticket.id}/refund", json={}).get_json()
    refund = body["refund"]
    assert refund["status"] == "owed" and refund["gateway"] == "offline" and refund["paidOutAt"] is None
    assert body["tickets"][0]["status"] == "refunded" and reload(ticket.id).status == "refunded"

    owed = tenant.staff.get("/events/refunds?status=owed").get_json()["data"]
    assert [r["id"] for r in owed] == [refund["id"]]
    assert other_tenant.staff.get("/events/refunds").get_json()["data"] == []
    foreign = other_tenant.staff.post(f"/events/refunds/{refund['id']}/paid-out", json={})
    assert foreign.status_code == 404
    assert [r.status for r in refunds_of(ticket.booking_id)] == ["owed"]

    paid = tenant.staff.post(f"/events/refunds/{refund['id']}/paid-out", json={"reference": "bank-77"})
    assert paid.status_code == 200, paid.get_json()
    assert paid.get_json() == {**paid.get_json(), "status": "paid_out", "reference": "bank-77"}
    assert paid.get_json()["paidOutAt"]
    repeat = tenant.staff.post(f"/events/refunds/{refund['id']}/paid-out", json={"reference": "other"})
    assert tenant.staff.get("/events/refunds?status=owed").get_json()["data"] == []
    assert [r["status"] for r in tenant.staff.get("/events/refunds").get_json()["data"]] == ["paid_out"]
    assert tenant.staff.get("/events/refunds?status=nope").status_code == 422
    assert repeat.status_code == 200 and repeat.get_json() == paid.get_json()
    assert tenant.staff.post("/events/refunds/nope/paid-out", json={}).status_code == 404


def test_box_office_payment_for_a_dead_cart_is_refunded_as_owed(tenant):
    event = make_bare_event(tenant)
    tt = make_type(tenant, event, price=10, capacity=1)
    stale = _buy(tenant, event, tt, gateway="offline")
    age_booking(stale["bookingId"])
    _buy(tenant, event, tt, gateway="offline")  # expires the stale hold lazily and takes the seat
    late = tenant.staff.post(f"/events/bookings/{stale['bookingId']}/mark-paid", json={"reference": "cash-9"})
    assert late.status_code == 409 and late.get_json()["refunded"] is True
    [refund] = refunds_of(stale["bookingId"])
    assert (refund.status, refund.amount) == ("owed", 1000)
    paid = tenant.staff.post(f"/events/refunds/{refund.id}/paid-out", json={})
    assert paid.status_code == 200 and paid.get_json()["status"] == "paid_out"

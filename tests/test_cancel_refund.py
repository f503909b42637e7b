"""Cancel and refund through HTTP: QR voided, record kept, seats back once, money via the gateway, 409 on repeat."""

from __future__ import annotations

import pytest
from ticket_factory import fake_gateway, hold, issue, make_event, recorded_hooks, reload, reload_model

from core.errors import ApiError
from core.models import Booking, Event, Refund, TicketType
from core.payments import RefundResult
from core.services import qr


def sold(ticket_type) -> tuple[int, int, int]:
    """(ticket type sold, held, event sold)."""
    tt = reload_model(TicketType, ticket_type.id)
    return tt.sold, tt.held, reload_model(Event, tt.event_id).sold


def refunds_of(booking_id: str) -> list[Refund]:
    from core import db as database

    with database.db.connection_context():
        return list(Refund.select().where(Refund.booking == booking_id).order_by(Refund.created_at))


def test_cancel_ticket_voids_qr_keeps_record_frees_seat(tenant):
    _, ticket_type = make_event(tenant)
    first, second = issue(tenant, ticket_type, 2)
    payload = qr.payload_for(tenant.org, first)
    with recorded_hooks(tenant, "ticket_cancelled") as calls:
        response = tenant.staff.post(f"/events/tickets/{first.id}/cancel")
    assert response.status_code == 200 and response.get_json()["status"] == "cancelled"
    assert [kw["ticket"].id for _, kw in calls] == [first.id]
    assert reload(first.id).secret_version == 2
    assert sold(ticket_type) == (1, 0, 1)
    check = tenant.staff.post("/events/tickets/validate", json={"qrPayload": payload}).get_json()
    assert check["reason"] == "revoked"
    assert tenant.staff.get(f"/events/tickets/{first.id}").get_json()["status"] == "cancelled"
    again = tenant.staff.post(f"/events/tickets/{first.id}/cancel")
    assert again.status_code == 409 and again.get_json()["type"] == "already_cancelled"
    assert sold(ticket_type) == (1, 0, 1)
    assert reload(second.id).status == "valid"


def test_cancel_booking_paid_and_pending(tenant):
    _, ticket_type = make_event(tenant)
    tickets = issue(tenant, ticket_type, 3)
    booking_id = tickets[0].booking_id
    response = tenant.staff.post(f"/events/bookings/{booking_id}/cancel")
    assert response.status_code == 200 and response.get_json()["status"] == "cancelled"
    assert {reload(t.id).status for t in tickets} == {"cancelled"}
    assert sold(ticket_type) == (0, 0, 0)
    again = tenant.staff.post(f"/events/bookings/{booking_id}/cancel")
    assert again.status_code == 409 and again.get_json()["type"] == "already_cancelled"

    pending = hold(tenant, ticket_type, 2)
    assert sold(ticket_type) == (0, 2, 0)
    response = tenant.staff.post(f"/events/bookings/{pending.id}/cancel")
    assert response.status_code == 200 and response.get_json()["status"] == "cancelled"
    assert sold(ticket_type) == (0, 0, 0)
    assert tenant.staff.post(f"/events/bookings/{pending.id}/cancel").status_code == 409
    assert sold(ticket_type) == (0, 0, 0)


def test_refund_ticket_then_rest_of_booking(tenant):
    _, ticket_type = make_event(tenant)
    first, second = issue(tenant, ticket_type, 2)
    with recorded_hooks(tenant, "ticket_refunded") as calls:
        response = tenant.staff.post(f"/events/tickets/{first.id}/refund", json={})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["refund"]["amount"] == 2500 and body["refund"]["status"] == "owed"  # box office: paid out by hand
    assert body["booking"] == {**body["booking"], "status": "partially_refunded", "refundedAmount": 2500}
    assert body["tickets"][0]["status"] == "refunded" and body["tickets"][0]["qrUrl"] is None
    assert [(kw["ticket"].id, kw["refund"].amount) for _, kw in calls] == [(first.id, 2500)]
    assert sold(ticket_type) == (1, 0, 1)

    again = tenant.staff.post(f"/events/tickets/{first.id}/refund", json={})
    assert again.status_code == 409 and again.get_json()["type"] == "already_refunded"

    rest = tenant.staff.post(f"/events/bookings/{first.booking_id}/refund", json={})
    assert rest.status_code == 200
    assert rest.get_json()["booking"]["status"] == "refunded" and rest.get_json()["booking"]["refundedAmount"] == 5000
    assert reload(second.id).status == "refunded" and sold(ticket_type) == (0, 0, 0)
    done = tenant.staff.post(f"/events/bookings/{first.booking_id}/refund", json={})
    assert done.status_code == 409 and done.get_json()["type"] == "already_refunded"
    assert [r.amount for r in refunds_of(first.booking_id)] == [2500, 2500]


def test_partial_amount_and_exceeding_paid(tenant):
    _, ticket_type = make_event(tenant)
    tickets = issue(tenant, ticket_type, 2)
    booking_id = tickets[0].booking_id
    too_much = tenant.staff.post(f"/events/bookings/{booking_id}/refund", json={"amount": "50.01"})
    assert too_much.status_code == 422 and too_much.get_json()["type"] == "refund_exceeds_paid"
    assert {reload(t.id).status for t in tickets} == {"valid"}
    assert reload_model(Booking, booking_id).refunded_amount == 0
    bad = tenant.staff.post(f"/events/bookings/{booking_id}/refund", json={"amount": "1.001"})
    assert bad.status_code == 422 and bad.get_json()["type"] == "invalid_amount"
    assert tenant.staff.post(f"/events/bookings/{booking_id}/refund", json={"amount": "ten"}).status_code == 422

    partial = tenant.staff.post(f"/events/bookings/{booking_id}/refund", json={"amount": 40})
    assert partial.status_code == 200
    assert partial.get_json()["booking"] == {**partial.get_json()["booking"], "status": "partially_refunded",
                                             "refundedAmount": 4000}
    assert {reload(t.id).status for t in tickets} == {"refunded"}
    rest = tenant.staff.post(f"/events/bookings/{booking_id}/refund", json={})
    assert rest.status_code == 200 and rest.get_json()["refund"]["amount"] == 1000
    assert rest.get_json()["booking"]["status"] == "refunded"


@pytest.mark.parametrize("answer, status, type_", [
    (lambda amount: RefundResult(succeeded=False, reason="charge disputed"), 402, "refund_declined"),
    (lambda amount: (_ for _ in ()).throw(RuntimeError("connection reset")), 502, "refund_failed"),
    (lambda amount: (_ for _ in ()).throw(ApiError("no", status=409, type="provider_says_no")), 409,
     "provider_says_no"),
])
def test_provider_refusal_restores_tickets(tenant, answer, status, type_):
    _, ticket_type = make_event(tenant)
    valid, used = issue(tenant, ticket_type, 2, gateway="testpay")
    tenant.staff.post(f"/events/check-in/{used.id}", json={})
    with fake_gateway(tenant, "testpay", answer):
        response = tenant.staff.post(f"/events/bookings/{valid.booking_id}/refund", json={})
    assert response.status_code == status and response.get_json()["type"] == type_
    if type_ == "refund_declined":
        assert response.get_json()["providerReason"] == "charge disputed"
    assert reload(valid.id).status == "valid" and reload(used.id).status == "checked_in"
    booking = reload_model(Booking, valid.booking_id)
    assert (booking.status, booking.refunded_amount) == ("confirmed", 0)
    assert [r.status for r in refunds_of(valid.booking_id)] == ["failed"]
    assert sold(ticket_type) == (2, 0, 2)
    scan = tenant.staff.post("/events/check-in", json={"qrPayload": qr.payload_for(tenant.org, reload(valid.id))})
    assert scan.status_code == 200


def test_refund_goes_through_the_bookings_gateway_with_minor_units(tenant):
    seen = []
    _, ticket_type = make_event(tenant, price=1999)
    (ticket,) = issue(tenant, ticket_type, gateway="testpay")
    with fake_gateway(tenant, "testpay", lambda amount: seen.append(amount) or RefundResult(True, "re_1", amount)):
        response = tenant.staff.post(f"/events/tickets/{ticket.id}/refund", json={"amount": 5})
    assert response.status_code == 200 and response.get_json()["refund"]["reference"] == "re_1"
    assert seen == [500]
    assert response.get_json()["booking"]["status"] == "partially_refunded"


def test_idempotency_key_replays_the_refund(tenant):
    _, ticket_type = make_event(tenant)
    (ticket,) = issue(tenant, ticket_type)
    headers = {"Idempotency-Key": "refund-once-123"}
    first = tenant.staff.post(f"/events/tickets/{ticket.id}/refund", json={}, headers=headers)
    second = tenant.staff.post(f"/events/tickets/{ticket.id}/refund", json={}, headers=headers)
    assert first.status_code == second.status_code == 200
    assert first.get_json() == second.get_json() and second.headers.get("Idempotent-Replayed") == "true"
    assert len(refunds_of(ticket.booking_id)) == 1
    other = tenant.staff.post(f"/events/tickets/{ticket.id}/refund", json={}, headers={"Idempotency-Key": "k2"})
    assert other.status_code == 409 and other.get_json()["type"] == "already_refunded"


def test_other_tenant_and_roles(tenant, other_tenant):
    _, ticket_type = make_event(tenant)
    (ticket,) = issue(tenant, ticket_type)
    for path in (f"/events/tickets/{ticket.id}/cancel", f"/events/tickets/{ticket.id}/refund",
                 f"/events/bookings/{ticket.booking_id}/cancel", f"/events/bookings/{ticket.booking_id}/refund"):
        assert other_tenant.staff.post(path, json={}).status_code == 404, path
        assert tenant.customer().post(path, json={}).status_code == 403, path
    assert reload(ticket.id).status == "valid"
    comp_event, comp_type = make_event(tenant)
    (comp,) = issue(tenant, comp_type, paid=False)
    free = tenant.staff.post(f"/events/tickets/{comp.id}/refund", json={})
    assert free.status_code == 200 and free.get_json()["refund"]["amount"] == 0

"""PayPal plugin end to end: the real paypal-server-sdk against a loopback fake, verified webhooks, both DBs.

Covers purchase -> approval -> confirm-order capture -> tickets, JPY, declines, outages, refunds, webhooks.
"""

from __future__ import annotations

import json
import secrets

import pytest
from fakes.checks import booking_row, enable_gateway, fake_fixtures, ticket_ids
from fakes.paypal_server import FakePayPal, signed_headers, webhook_event
from test_purchase_support import counters, guest_purchase, make_event, make_type

from core import db as database
from core.models import Booking, Ticket

fake_server, fake = fake_fixtures(FakePayPal)


def use_paypal(tenant, fake, **overrides) -> dict:
    """Enable and configure paypal for `tenant` against the fake; returns the settings."""
    settings = {
        "client_id": "AX" + secrets.token_hex(10),
        "client_secret": "EL" + secrets.token_hex(16),
        "webhook_id": "WH-" + secrets.token_hex(6).upper(),
        "api_base": fake.url,
        "timeout": "1",
    }
    return enable_gateway(tenant, "paypal", settings, overrides)


def buy(tenant, *, price=19.99, currency="USD", quantity=2, capacity=10) -> tuple[dict, str, str]:
    """A guest purchase paid with paypal: (response JSON, event id, ticket type id)."""
    event_id = make_event(tenant)
    tt = make_type(tenant, event_id, price=price, currency=currency, capacity=capacity)
    response = tenant.guest.post("/client/events/tickets/purchase",
                                 json=guest_purchase(tenant, event_id, [(tt, quantity)], paymentGateway="paypal"))
    assert response.status_code in (200, 201), response.get_json()
    return response.get_json(), event_id, tt


def confirm(tenant, data):
    return tenant.guest.post("/client/events/tickets/confirm-order", json={
        "bookingId": data["bookingId"], "paymentRef": data["paymentRef"], "paymentGateway": "paypal"})


def send_webhook(tenant, settings, event: dict, *, tamper=False, headers=None):
    """POST a PayPal event with transmission headers the fake's verify call accepts (unless tampered)."""
    sent = signed_headers(event, settings["webhook_id"], tamper=tamper) if headers is None else headers
    return tenant.guest.flask.post(f"/webhooks/paypal/{tenant.orgid}", data=json.dumps(event),
                                   headers={**sent, "Content-Type": "application/json"})


def test_purchase_creates_an_order_and_returns_the_approval_link(tenant, fake):
    use_paypal(tenant, fake)
    data, event_id, tt = buy(tenant)
    [call] = fake.calls("POST", "/v2/checkout/orders")
    unit = call.json["purchase_units"][0]
    assert call.json["intent"] == "CAPTURE"
    assert unit["amount"] == {"currency_code": "USD", "value": "39.98"}
    assert unit["custom_id"] == unit["reference_id"] == data["bookingId"]
    order_id = data["paymentRef"]
    assert data["paymentData"] == {"orderId": order_id, "approvalUrl": data["approvalUrl"]}
    assert data["approvalUrl"].endswith(f"token={order_id}") and data["clientSecret"] is None
    assert fake.calls("POST", "/v1/oauth2/token")[0].headers["authorization"].startswith("Basic ")
    assert counters(event_id, tt)["held"] == 2


def test_jpy_amount_is_a_whole_yen_string(tenant, fake):
    use_paypal(tenant, fake)
    data, _, _ = buy(tenant, price=1500, currency="JPY", quantity=1)
    [call] = fake.calls("POST", "/v2/checkout/orders")
    assert call.json["purchase_units"][0]["amount"] == {"currency_code": "JPY", "value": "1500"}
    fake.approve(data["paymentRef"])
    assert confirm(tenant, data).status_code == 200


def test_approve_then_confirm_order_captures_once_and_issues_tickets(tenant, fake):
    use_paypal(tenant, fake)
    data, event_id, tt = buy(tenant)
    early = confirm(tenant, data)
    assert early.status_code == 402 and "ORDER_NOT_APPROVED" in early.get_json()["message"]
    fake.approve(data["paymentRef"])
    response = confirm(tenant, data)
    assert response.status_code == 200, response.get_json()
    first = sorted(t["id"] for t in response.get_json()["tickets"])
    assert len(first) == 2
    again = confirm(tenant, data)
    assert again.status_code == 200 and sorted(t["id"] for t in again.get_json()["tickets"]) == first
    assert len(fake.calls("POST", f"/v2/checkout/orders/{data['paymentRef']}/capture")) == 2  # early + real
    assert counters(event_id, tt) == {"event_sold": 2, "event_held": 0, "tickets": 2, "sold": 2, "held": 0}


def test_second_capture_answers_already_captured_and_still_verifies(app, tenant, fake):
    settings = use_paypal(tenant, fake)
    data, _, _ = buy(tenant)
    fake.approve(data["paymentRef"])
    from plugins.paypal.gateway import PayPalGateway

    gateway = PayPalGateway(settings)
    with database.db.connection_context():
        booking = Booking.get_by_id(data["bookingId"])
        first, _, _ = gateway.capture(data["paymentRef"])
        second, issue, _ = gateway.capture(data["paymentRef"])
        assert first["status"] == second["status"] == "COMPLETED" and issue == ""
        check = gateway.verify(tenant.org, booking, data["paymentRef"])
    assert check.paid and check.amount == 3998 and check.currency == "USD"
    captures = fake.calls("POST", f"/v2/checkout/orders/{data['paymentRef']}/capture")
    assert len(captures) == 2
    assert confirm(tenant, data).status_code == 200


def test_declined_capture_stays_pending_and_retry_works(tenant, fake):
    use_paypal(tenant, fake)
    data, event_id, tt = buy(tenant)
    fake.approve(data["paymentRef"])
    fake.capture_mode = "declined"
    response = confirm(tenant, data)
    assert response.status_code == 402 and "INSTRUMENT_DECLINED" in response.get_json()["message"]
    assert booking_row(data["bookingId"]).status == "pending" and counters(event_id, tt)["held"] == 2
    fake.capture_mode = "ok"
    response = confirm(tenant, data)
    assert response.status_code == 200 and len(response.get_json()["tickets"]) == 2


def test_someone_elses_order_does_not_confirm(tenant, fake):
    use_paypal(tenant, fake)
    paid, _, _ = buy(tenant)
    fake.approve(paid["paymentRef"])
    other, _, _ = buy(tenant)
    response = tenant.guest.post("/client/events/tickets/confirm-order", json={
        "bookingId": other["bookingId"], "paymentRef": paid["paymentRef"]})
    assert response.status_code == 402 and "another booking" in response.get_json()["message"]
    assert fake.calls("POST", f"/v2/checkout/orders/{paid['paymentRef']}/capture") == []


@pytest.mark.parametrize("mode", ["5xx", "timeout"])
def test_provider_outage_is_502_keeps_the_hold_and_issues_nothing(tenant, fake, mode):
    use_paypal(tenant, fake, timeout="0.5")
    event_id = make_event(tenant)
    tt = make_type(tenant, event_id, price=30, capacity=10)
    fake.sleep_seconds = 2.0
    fake.mode = mode
    response = tenant.guest.post("/client/events/tickets/purchase",
                                 json=guest_purchase(tenant, event_id, [(tt, 1)], paymentGateway="paypal"))
    assert response.status_code == 502 and response.get_json()["type"] == "gateway_unavailable"
    assert counters(event_id, tt)["held"] == 1 and counters(event_id, tt)["tickets"] == 0
    fake.mode = "ok"
    data, _, _ = buy(tenant)
    fake.approve(data["paymentRef"])
    fake.mode = mode
    response = confirm(tenant, data)
    assert response.status_code == 502 and response.get_json()["type"] == "gateway_unavailable"
    assert ticket_ids(data["bookingId"]) == []
    fake.mode = "ok"
    assert confirm(tenant, data).status_code == 200


def test_not_configured_is_409_and_not_enabled_is_422(tenant, other_tenant, fake):
    tenant.enable("paypal")
    event_id = make_event(tenant)
    tt = make_type(tenant, event_id, price=10, capacity=5)
    response = tenant.guest.post("/client/events/tickets/purchase",
                                 json=guest_purchase(tenant, event_id, [(tt, 1)], paymentGateway="paypal"))
    assert response.status_code == 409 and response.get_json()["type"] == "gateway_not_configured"
    event_id = make_event(other_tenant)
    tt = make_type(other_tenant, event_id, price=10, capacity=5)
    response = other_tenant.guest.post("/client/events/tickets/purchase",
                                       json=guest_purchase(other_tenant, event_id, [(tt, 1)], paymentGateway="paypal"))
    assert response.status_code == 422 and response.get_json()["type"] == "gateway_not_enabled"
    response = other_tenant.guest.flask.post(f"/webhooks/paypal/{other_tenant.orgid}", data=b"{}")
    assert response.status_code == 404 and response.get_json()["type"] == "plugin_not_enabled"
    assert fake.requests == []


def test_refund_reaches_paypal_and_a_rejected_refund_changes_nothing(tenant, fake):
    settings = use_paypal(tenant, fake)
    data, _, _ = buy(tenant)
    fake.approve(data["paymentRef"])
    tickets = confirm(tenant, data).get_json()["tickets"]
    response = tenant.staff.post(f"/events/tickets/{tickets[0]['id']}/refund", json={})
    assert response.status_code == 200, response.get_json()
    [call] = fake.calls("POST", "/v2/payments/captures/")
    assert call.json["amount"] == {"currency_code": "USD", "value": "19.99"}
    assert call.json["custom_id"] == data["bookingId"] and call.headers["paypal-request-id"]
    fake.refund_mode = "rejected"
    response = tenant.staff.post(f"/events/tickets/{tickets[1]['id']}/refund", json={})
    body = response.get_json()
    assert response.status_code == 409 and body["type"] == "refund_rejected"
    assert "fully refunded" in body["message"]
    with database.db.connection_context():
        assert Ticket.get_by_id(tickets[1]["id"]).status == "valid"
    refund_id = next(iter(fake.refunds))
    hook = send_webhook(tenant, settings, webhook_event("PAYMENT.CAPTURE.REFUNDED", {"id": refund_id}))
    assert hook.status_code == 200 and hook.get_json().get("recorded") == "capture_refunded", hook.get_json()
    assert booking_row(data["bookingId"]).payment_data["paypal_events"][-1]["refund"] == refund_id


def test_capture_completed_webhook_confirms_once_and_confirm_order_agrees(tenant, fake):
    settings = use_paypal(tenant, fake)
    data, event_id, tt = buy(tenant)
    fake.approve(data["paymentRef"])
    approved = send_webhook(tenant, settings, webhook_event("CHECKOUT.ORDER.APPROVED", {"id": data["paymentRef"]}))
    assert approved.status_code == 200 and approved.get_json()["status"] == "confirmed"
    first = ticket_ids(data["bookingId"])
    event = webhook_event("PAYMENT.CAPTURE.COMPLETED", fake.capture_resource(data["paymentRef"]))
    again = send_webhook(tenant, settings, event)
    assert again.status_code == 200 and again.get_json()["status"] == "confirmed"
    confirmed = confirm(tenant, data).get_json()["tickets"]
    assert sorted(t["id"] for t in confirmed) == first == ticket_ids(data["bookingId"])
    assert counters(event_id, tt)["tickets"] == 2


def test_unverified_webhooks_are_400_and_change_nothing(tenant, fake):
    settings = use_paypal(tenant, fake)
    data, _, _ = buy(tenant)
    fake.approve(data["paymentRef"])
    event = webhook_event("CHECKOUT.ORDER.APPROVED", {"id": data["paymentRef"]})
    for response in (send_webhook(tenant, settings, event, tamper=True),
                     send_webhook(tenant, settings, event, headers={}),
                     tenant.guest.flask.post(f"/webhooks/paypal/{tenant.orgid}", data=b"[not json",
                                             headers=signed_headers({}, settings["webhook_id"]))):
        assert response.status_code == 400 and response.get_json()["type"] == "invalid_signature"
    other = dict(settings, webhook_id="WH-OTHER")
    assert send_webhook(tenant, other, event).status_code == 400
    assert booking_row(data["bookingId"]).status == "pending"
    assert fake.calls("POST", f"/v2/checkout/orders/{data['paymentRef']}/capture") == []


def test_settings_are_masked_and_never_returned(tenant, fake, operator):
    settings = use_paypal(tenant, fake)
    response = operator.get(f"/operator/tenants/{tenant.orgid}/plugins/paypal/settings")
    text = response.get_data(as_text=True)
    assert response.status_code == 200 and settings["client_secret"] not in text


def _expire_and_resell(tenant, data, event_id, tt, *, resell: bool) -> None:
    """The hold runs out (expiry job); with `resell`, the next buyer takes every seat."""
    from test_purchase_support import age_booking

    from core.services import holds

    age_booking(data["bookingId"])
    with database.db.connection_context():
        assert holds.expire_holds_job() >= 1
    if resell:
        taker = tenant.guest.post("/client/events/tickets/purchase",
                                  json=guest_purchase(tenant, event_id, [(tt, 2)], paymentGateway="offline"))
        assert taker.status_code == 201, taker.get_json()


@pytest.mark.parametrize("seats_gone", [True, False])
def test_an_approved_order_after_the_hold_expired_is_captured_only_if_the_seats_are_free(tenant, fake, seats_gone):
    use_paypal(tenant, fake)
    data, event_id, tt = buy(tenant, quantity=2, capacity=2)
    fake.approve(data["paymentRef"])
    _expire_and_resell(tenant, data, event_id, tt, resell=seats_gone)
    assert [c.path for c in fake.requests if c.method == "POST" and c.path.startswith("/v2/")] == \
        ["/v2/checkout/orders"]                      # expiring voided nothing at PayPal: the order just expires
    response = confirm(tenant, data)
    captures = fake.calls("POST", f"/v2/checkout/orders/{data['paymentRef']}/capture")
    if seats_gone:
        body = response.get_json()
        assert response.status_code == 409 and body["type"] == "hold_expired" and body["refunded"] is False
        assert captures == [] and fake.calls("POST", "/v2/payments/captures") == []   # nothing charged
        assert booking_row(data["bookingId"]).status == "expired" and ticket_ids(data["bookingId"]) == []
    else:
        assert response.status_code == 200 and len(response.get_json()["tickets"]) == 2   # re-reserved
        assert len(captures) == 1
        assert counters(event_id, tt) == {"event_sold": 2, "event_held": 0, "tickets": 2, "sold": 2, "held": 0}


def test_a_captured_order_whose_hold_expired_with_the_seats_gone_is_refunded_once(tenant, fake):
    settings = use_paypal(tenant, fake)
    data, event_id, tt = buy(tenant, quantity=2, capacity=2)
    fake.approve(data["paymentRef"])
    from plugins.paypal.gateway import PayPalGateway

    with database.db.connection_context():
        captured, _, _ = PayPalGateway(settings).capture(data["paymentRef"])   # then the confirm never ran
    assert captured["status"] == "COMPLETED"
    _expire_and_resell(tenant, data, event_id, tt, resell=True)
    for _ in range(2):
        response = confirm(tenant, data)
        assert response.status_code == 409 and response.get_json()["refunded"] is True
    assert len(fake.calls("POST", f"/v2/checkout/orders/{data['paymentRef']}/capture")) == 1
    [refund] = [c for c in fake.requests if c.method == "POST" and c.path.endswith("/refund")]
    assert refund.json["amount"] == {"currency_code": "USD", "value": "39.98"}
    assert booking_row(data["bookingId"]).status == "refunded" and ticket_ids(data["bookingId"]) == []


# --- holder edits with a change fee (Step.EXTRA_PAYMENT) -----------------------------------------------------

def buy_editable(tenant, fake, fan) -> tuple[dict, dict]:
    """`fan` buys one ticket of an editable type (change fee 2.50) with PayPal: (confirmed booking, ticket)."""
    from test_ticket_edits import PURCHASE

    event_id = make_event(tenant)
    tt = make_type(tenant, event_id, price="40.00", editable=True, editableChangeFee="2.50")
    bought = fan.post(PURCHASE, json={"eventId": event_id, "paymentGateway": "paypal",
                                      "tickets": [{"ticketTypeId": tt, "quantity": 1}]}).get_json()
    fake.approve(bought["paymentRef"])
    confirmed = fan.post("/client/events/tickets/confirm-order", json={"bookingId": bought["bookingId"]})
    assert confirmed.status_code == 200, confirmed.get_json()
    return confirmed.get_json(), confirmed.get_json()["tickets"][0]


def test_a_paid_holder_edit_takes_its_own_order_and_applies_once_after_capture(tenant, fake):
    from test_ticket_edits import change_fees, confirm_path, edit_path

    use_paypal(tenant, fake)
    fan = tenant.customer()
    booking, ticket = buy_editable(tenant, fake, fan)
    answer = fan.patch(edit_path(ticket["id"]), json={"holderName": "Paid Pat"})
    assert answer.status_code == 202, answer.get_json()
    edit = answer.get_json()["edit"]
    assert edit["paymentGateway"] == "paypal" and edit["fee"] == {"amount": 250, "currency": "USD"}
    assert edit["approvalUrl"].endswith(edit["paymentRef"]) and edit["paymentRef"] != booking["paymentRef"]
    unit = fake.orders[edit["paymentRef"]]["purchase_units"][0]
    assert unit["amount"] == {"currency_code": "USD", "value": "2.50"} and unit["custom_id"] == f"charge:{edit['id']}"

    unpaid = fan.post(confirm_path(ticket["id"]), json={})
    assert unpaid.status_code == 402 and unpaid.get_json()["type"] == "payment_not_completed"
    assert fan.get(edit_path(ticket["id"])).get_json()["holderName"] == "Test Fan"

    fake.approve(edit["paymentRef"])
    confirmed = fan.post(confirm_path(ticket["id"]), json={})
    assert confirmed.status_code == 200, confirmed.get_json()
    assert confirmed.get_json()["edit"]["status"] == "applied"
    again = fan.post(confirm_path(ticket["id"]), json={})
    assert again.status_code == 200 and again.get_json()["edit"] == confirmed.get_json()["edit"]
    captures = [r for r in fake.requests if r.path == f"/v2/checkout/orders/{edit['paymentRef']}/capture"]
    assert len(captures) == 2  # refused before the approval, then the one capture; the replay captures nothing
    assert len(fake.orders[edit["paymentRef"]]["purchase_units"][0]["payments"]["captures"]) == 1
    (fee,) = change_fees(booking["bookingId"])
    assert (fee.amount, fee.currency, fee.gateway, fee.reference) == (250, "USD", "paypal", edit["paymentRef"])
    assert fan.get(edit_path(ticket["id"])).get_json()["holderName"] == "Paid Pat"
    with database.db.connection_context():
        stored = Booking.get_by_id(booking["bookingId"])
        assert (stored.status, stored.payment_ref, stored.amount) == ("confirmed", booking["paymentRef"], 4000)


def test_a_capture_webhook_applies_a_paid_edit_once_and_another_order_applies_nothing(tenant, fake):
    from test_ticket_edits import change_fees, confirm_path, edit_path

    settings = use_paypal(tenant, fake)
    fan = tenant.customer()
    booking, ticket = buy_editable(tenant, fake, fan)
    edit = fan.patch(edit_path(ticket["id"]), json={"holderName": "Hooked Hana"}).get_json()["edit"]
    # the booking's own order (already captured) is not the fee's payment: the edit stays pending
    own = send_webhook(tenant, settings, webhook_event("PAYMENT.CAPTURE.COMPLETED",
                                                       fake.capture_resource(booking["paymentRef"])))
    assert own.status_code == 200 and own.get_json()["status"] == "confirmed"
    assert fan.get(edit_path(ticket["id"])).get_json()["holderName"] == "Test Fan"
    # a forged order naming the charge (captured, but not the edit's order) applies nothing
    forged = dict(fake.orders[edit["paymentRef"]], id="FORGED" + secrets.token_hex(4).upper(), status="APPROVED")
    fake.orders[forged["id"]] = forged
    fake.approve(forged["id"])
    refused = send_webhook(tenant, settings, webhook_event("CHECKOUT.ORDER.APPROVED", {"id": forged["id"]}))
    assert refused.status_code == 200 and refused.get_json()["refused"] == "payment_not_completed"
    assert fan.get(edit_path(ticket["id"])).get_json()["holderName"] == "Test Fan"
    assert change_fees(booking["bookingId"]) == []

    fake.approve(edit["paymentRef"])
    approved = send_webhook(tenant, settings, webhook_event("CHECKOUT.ORDER.APPROVED", {"id": edit["paymentRef"]}))
    assert approved.status_code == 200 and approved.get_json()["recorded"] == "ticket_edit_applied"
    event = webhook_event("PAYMENT.CAPTURE.COMPLETED", fake.capture_resource(edit["paymentRef"]))
    for _ in range(2):
        replay = send_webhook(tenant, settings, event)
        assert replay.status_code == 200 and replay.get_json()["recorded"] == "ticket_edit_applied"
    assert fan.post(confirm_path(ticket["id"]), json={}).get_json()["edit"]["status"] == "applied"
    assert fan.get(edit_path(ticket["id"])).get_json()["holderName"] == "Hooked Hana"
    assert len(change_fees(booking["bookingId"])) == 1
    with database.db.connection_context():
        stored = Booking.get_by_id(booking["bookingId"])
        assert (stored.status, stored.payment_ref) == ("confirmed", booking["paymentRef"])

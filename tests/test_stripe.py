"""Stripe plugin end to end: the real stripe SDK against a loopback fake, real signed webhooks, both DBs.

Covers purchase -> webhook/confirm (tickets once), JPY, declines, outages, refunds, signatures, tenancy.
"""

from __future__ import annotations

import secrets
import time

import pytest
import stripe
from fakes.checks import booking_row, enable_gateway, fake_fixtures, ticket_ids
from fakes.stripe_server import FakeStripe, event_payload, sign_payload
from test_purchase_support import counters, guest_purchase, make_event, make_type
from test_secrets_at_rest import rows_containing

from core import db as database
from core.models import IdempotencyRecord, Ticket

fake_server, fake = fake_fixtures(FakeStripe)


def use_stripe(tenant, fake, **overrides) -> dict:
    """Enable and configure stripe for `tenant` against the fake; returns the settings."""
    settings = {
        "secret_key": "sk_test_" + secrets.token_hex(12),
        "publishable_key": "pk_test_" + secrets.token_hex(8),
        "webhook_secret": "whsec_" + secrets.token_hex(16),
        "api_base": fake.url,
        "timeout": "1",
    }
    return enable_gateway(tenant, "stripe", settings, overrides)


def buy(tenant, *, price=19.99, currency="USD", quantity=2, capacity=10) -> tuple[dict, str, str]:
    """A guest purchase paid with stripe: (response JSON, event id, ticket type id)."""
    event_id = make_event(tenant)
    tt = make_type(tenant, event_id, price=price, currency=currency, capacity=capacity)
    response = tenant.guest.post("/client/events/tickets/purchase",
                                 json=guest_purchase(tenant, event_id, [(tt, quantity)], paymentGateway="stripe"))
    assert response.status_code in (200, 201), response.get_json()
    return response.get_json(), event_id, tt


def send_webhook(tenant, settings, event_type: str, obj: dict, *, secret=None, timestamp=None, orgid=None):
    """POST a Stripe-signed event to the tenant's webhook URL."""
    payload = event_payload(event_type, obj)
    header = sign_payload(payload, secret or settings["webhook_secret"], timestamp)
    return tenant.guest.flask.post(f"/webhooks/stripe/{orgid or tenant.orgid}", data=payload,
                                   headers={"Stripe-Signature": header, "Content-Type": "application/json"})


def confirm(tenant, booking_id, payment_ref=None):
    body = {"bookingId": booking_id, "paymentGateway": "stripe"}
    if payment_ref:
        body["paymentRef"] = payment_ref
    return tenant.guest.post("/client/events/tickets/confirm-order", json=body)


def test_config_shows_only_the_publishable_key(tenant, fake):
    settings = use_stripe(tenant, fake)
    response = tenant.guest.get("/client/events/stripe/config")
    assert response.status_code == 200
    assert response.get_json() == {"publishableKey": settings["publishable_key"],
                                   "jsUrl": "https://js.stripe.com/v3/"}
    assert settings["secret_key"] not in response.get_data(as_text=True)
    tenant.configure("stripe", js_url=fake.url + "/v3/")   # the stand-in the browser tests load
    assert tenant.guest.get("/client/events/stripe/config").get_json()["jsUrl"] == fake.url + "/v3/"


def test_not_enabled_is_404_for_routes_and_422_for_purchase(tenant, fake):
    response = tenant.guest.get("/client/events/stripe/config")
    assert response.status_code == 404 and response.get_json()["type"] == "plugin_not_enabled"
    event_id = make_event(tenant)
    tt = make_type(tenant, event_id, price=10, capacity=5)
    response = tenant.guest.post("/client/events/tickets/purchase",
                                 json=guest_purchase(tenant, event_id, [(tt, 1)], paymentGateway="stripe"))
    assert response.status_code == 422 and response.get_json()["type"] == "gateway_not_enabled"
    response = tenant.guest.flask.post(f"/webhooks/stripe/{tenant.orgid}", data=b"{}")
    assert response.status_code == 404 and response.get_json()["type"] == "plugin_not_enabled"
    assert fake.requests == []


def test_enabled_without_keys_is_409_gateway_not_configured(tenant, fake):
    tenant.enable("stripe")
    assert tenant.guest.get("/client/events/stripe/config").get_json()["type"] == "gateway_not_configured"
    event_id = make_event(tenant)
    tt = make_type(tenant, event_id, price=10, capacity=5)
    response = tenant.guest.post("/client/events/tickets/purchase",
                                 json=guest_purchase(tenant, event_id, [(tt, 1)], paymentGateway="stripe"))
    body = response.get_json()
    assert response.status_code == 409 and body["type"] == "gateway_not_configured"
    assert "secret_key" in body["message"]
    assert counters(event_id, tt)["held"] == 0  # the core gives the seats back
    response = tenant.guest.flask.post(f"/webhooks/stripe/{tenant.orgid}", data=b"{}",
                                       headers={"Stripe-Signature": "t=1,v1=00"})
    assert response.status_code == 409 and response.get_json()["type"] == "gateway_not_configured"


def test_purchase_creates_the_intent_with_amount_currency_metadata_and_key(tenant, fake):
    use_stripe(tenant, fake)
    data, event_id, tt = buy(tenant, price=19.99, quantity=2)
    [call] = fake.calls("POST", "/v1/payment_intents")
    assert call.form["amount"] == "3998" and call.form["currency"] == "usd"
    assert call.form["metadata[org]"] == tenant.orgid and call.form["metadata[bookingId]"] == data["bookingId"]
    assert call.headers["idempotency-key"] == data["bookingId"]
    intent = fake.intents[data["paymentRef"]]
    assert data["clientSecret"] == intent["client_secret"] == data["paymentIntentSecret"]
    assert counters(event_id, tt)["held"] == 2


def test_jpy_is_sent_to_stripe_in_yen(tenant, fake):
    use_stripe(tenant, fake)
    data, _, _ = buy(tenant, price=1500, currency="JPY", quantity=2)
    [call] = fake.calls("POST", "/v1/payment_intents")
    assert call.form["amount"] == "3000" and call.form["currency"] == "jpy"
    assert data["amount"] == 3000
    fake.pay(data["paymentRef"])
    assert confirm(tenant, data["bookingId"]).status_code == 200


def test_webhook_first_then_confirm_order_issues_tickets_once(tenant, fake):
    settings = use_stripe(tenant, fake)
    data, event_id, tt = buy(tenant)
    intent = fake.pay(data["paymentRef"])
    response = send_webhook(tenant, settings, "payment_intent.succeeded", dict(intent, status="processing"))
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "confirmed"
    first = ticket_ids(data["bookingId"])
    assert len(first) == 2
    again = confirm(tenant, data["bookingId"], data["paymentRef"])
    assert again.status_code == 200
    assert sorted(t["id"] for t in again.get_json()["tickets"]) == first
    assert send_webhook(tenant, settings, "payment_intent.succeeded", intent).status_code == 200
    assert ticket_ids(data["bookingId"]) == first
    assert counters(event_id, tt) == {"event_sold": 2, "event_held": 0, "tickets": 2, "sold": 2, "held": 0}


def test_confirm_order_first_then_webhook_gives_the_same_result(tenant, fake):
    settings = use_stripe(tenant, fake)
    data, event_id, tt = buy(tenant)
    intent = fake.pay(data["paymentRef"])
    response = confirm(tenant, data["bookingId"], data["paymentRef"])
    assert response.status_code == 200
    first = sorted(t["id"] for t in response.get_json()["tickets"])
    hook = send_webhook(tenant, settings, "payment_intent.succeeded", intent)
    assert hook.status_code == 200 and hook.get_json()["status"] == "confirmed"
    assert ticket_ids(data["bookingId"]) == first
    assert counters(event_id, tt)["tickets"] == 2


def test_webhook_payload_is_never_trusted(tenant, fake):
    """A correctly signed event whose intent Stripe says is unpaid confirms nothing (re-fetched)."""
    settings = use_stripe(tenant, fake)
    data, _, _ = buy(tenant)
    forged = dict(fake.intents[data["paymentRef"]], status="succeeded")
    response = send_webhook(tenant, settings, "payment_intent.succeeded", forged)
    assert response.status_code == 200 and "ignored" in response.get_json()
    assert booking_row(data["bookingId"]).status == "pending" and ticket_ids(data["bookingId"]) == []


def test_unpaid_and_declined_stay_pending_then_retry_works(tenant, fake):
    settings = use_stripe(tenant, fake)
    data, event_id, tt = buy(tenant)
    response = confirm(tenant, data["bookingId"])
    assert response.status_code == 402 and response.get_json()["type"] == "payment_not_completed"
    intent = fake.decline(data["paymentRef"])
    response = confirm(tenant, data["bookingId"])
    assert response.status_code == 402 and "card_declined" in response.get_json()["message"]
    hook = send_webhook(tenant, settings, "payment_intent.payment_failed", intent)
    assert hook.status_code == 200 and hook.get_json()["recorded"] == "payment_failed"
    booking = booking_row(data["bookingId"])
    assert booking.status == "pending" and booking.payment_data["stripe_events"][-1]["code"] == "card_declined"
    assert counters(event_id, tt)["held"] == 2 and ticket_ids(data["bookingId"]) == []
    fake.pay(data["paymentRef"])
    response = confirm(tenant, data["bookingId"])
    assert response.status_code == 200 and len(response.get_json()["tickets"]) == 2


def test_another_bookings_payment_does_not_confirm(tenant, fake):
    use_stripe(tenant, fake)
    paid, _, _ = buy(tenant)
    fake.pay(paid["paymentRef"])
    other, _, _ = buy(tenant)
    response = confirm(tenant, other["bookingId"], paid["paymentRef"])
    assert response.status_code == 402 and "another booking" in response.get_json()["message"]
    response = confirm(tenant, other["bookingId"], "pi_../../v1/refunds")
    assert response.status_code == 402
    assert booking_row(other["bookingId"]).status == "pending"


@pytest.mark.parametrize("mode", ["5xx", "timeout"])
def test_provider_outage_is_502_keeps_the_hold_and_issues_nothing(tenant, fake, mode):
    use_stripe(tenant, fake, timeout="0.5")
    event_id = make_event(tenant)
    tt = make_type(tenant, event_id, price=25, capacity=10)
    fake.sleep_seconds = 2.0
    fake.mode = mode
    response = tenant.guest.post("/client/events/tickets/purchase",
                                 json=guest_purchase(tenant, event_id, [(tt, 1)], paymentGateway="stripe"))
    body = response.get_json()
    assert response.status_code == 502 and body["type"] == "gateway_unavailable"
    assert counters(event_id, tt)["held"] == 1 and counters(event_id, tt)["tickets"] == 0
    fake.mode = "ok"
    data, _, _ = buy(tenant)
    fake.pay(data["paymentRef"])
    fake.mode = mode
    response = confirm(tenant, data["bookingId"])
    assert response.status_code == 502 and response.get_json()["type"] == "gateway_unavailable"
    assert booking_row(data["bookingId"]).status == "pending" and ticket_ids(data["bookingId"]) == []
    fake.mode = "ok"
    assert confirm(tenant, data["bookingId"]).status_code == 200


def test_bad_stale_or_foreign_signatures_are_400_and_change_nothing(tenant, other_tenant, fake):
    settings = use_stripe(tenant, fake)
    other_settings = use_stripe(other_tenant, fake)
    data, _, _ = buy(tenant)
    intent = fake.pay(data["paymentRef"])
    attempts = [
        send_webhook(tenant, settings, "payment_intent.succeeded", intent, secret="whsec_wrong"),
        send_webhook(tenant, settings, "payment_intent.succeeded", intent, timestamp=int(time.time()) - 600),
        send_webhook(tenant, settings, "payment_intent.succeeded", intent, secret=other_settings["webhook_secret"]),
        tenant.guest.flask.post(f"/webhooks/stripe/{tenant.orgid}", data=event_payload("x", {})),
        tenant.guest.flask.post(f"/webhooks/stripe/{tenant.orgid}", data=b"not json",
                                headers={"Stripe-Signature": sign_payload(b"not json", settings["webhook_secret"])}),
    ]
    for response in attempts:
        assert response.status_code == 400, response.get_json()
        assert response.get_json()["type"] in ("invalid_signature",)
    assert booking_row(data["bookingId"]).status == "pending" and ticket_ids(data["bookingId"]) == []
    # the other tenant's correctly signed event about this tenant's intent is ignored
    foreign = send_webhook(other_tenant, other_settings, "payment_intent.succeeded", intent)
    assert foreign.status_code == 200 and "ignored" in foreign.get_json()
    assert booking_row(data["bookingId"]).status == "pending"
    unknown = tenant.guest.flask.post("/webhooks/stripe/no-such-org", data=b"{}")
    assert unknown.status_code == 404


def test_intent_endpoint_returns_the_bookings_intent(tenant, fake):
    use_stripe(tenant, fake)
    data, _, _ = buy(tenant)
    response = tenant.guest.post("/client/events/stripe/intent", json={"bookingId": data["bookingId"]})
    body = response.get_json()
    assert response.status_code == 200, body
    assert body["paymentIntentId"] == data["paymentRef"] and body["clientSecret"] == data["clientSecret"]
    assert body["amount"] == 3998 and body["currency"] == "USD"
    assert len(fake.intents) >= 1 and all(c.headers["idempotency-key"] == data["bookingId"]
                                          for c in fake.calls("POST", "/v1/payment_intents"))
    bad = tenant.guest.post("/client/events/stripe/intent", json={})
    assert bad.status_code == 422 and bad.get_json()["type"]
    missing = tenant.guest.post("/client/events/stripe/intent", json={"bookingId": "nope"})
    assert missing.status_code == 404 and missing.get_json()["type"] == "booking_not_found"


def test_hosted_checkout_session_then_webhook_confirms(tenant, fake):
    settings = use_stripe(tenant, fake)
    data, _, _ = buy(tenant, price=12.5, quantity=1)
    bad = tenant.guest.post("/client/events/stripe/checkout-session",
                            json={"bookingId": data["bookingId"], "successUrl": "nope", "cancelUrl": "x"})
    assert bad.status_code == 422
    response = tenant.guest.post("/client/events/stripe/checkout-session", json={
        "bookingId": data["bookingId"], "successUrl": "https://shop.example/ok", "cancelUrl": "https://shop.example/no"})
    body = response.get_json()
    assert response.status_code == 200, body
    assert body["url"].startswith("https://checkout.stripe.com/")
    [call] = fake.calls("POST", "/v1/checkout/sessions")
    assert call.form["line_items[0][price_data][unit_amount]"] == "1250"
    assert call.form["payment_intent_data[metadata][bookingId]"] == data["bookingId"]
    session = fake.complete_session(body["sessionId"])
    hook = send_webhook(tenant, settings, "checkout.session.completed", dict(session, payment_status="unpaid"))
    assert hook.status_code == 200 and hook.get_json()["status"] == "confirmed"
    assert len(ticket_ids(data["bookingId"])) == 1
    assert confirm(tenant, data["bookingId"], body["sessionId"]).status_code == 200


def test_refund_reaches_stripe_and_a_rejected_refund_changes_nothing(tenant, fake):
    settings = use_stripe(tenant, fake)
    data, event_id, tt = buy(tenant, price=19.99, quantity=2)
    fake.pay(data["paymentRef"])
    tickets = confirm(tenant, data["bookingId"]).get_json()["tickets"]
    response = tenant.staff.post(f"/events/tickets/{tickets[0]['id']}/refund", json={})
    assert response.status_code == 200, response.get_json()
    [call] = fake.calls("POST", "/v1/refunds")
    assert call.form["payment_intent"] == data["paymentRef"] and call.form["amount"] == "1999"
    assert call.headers["idempotency-key"]
    fake.refund_mode = "rejected"
    response = tenant.staff.post(f"/events/tickets/{tickets[1]['id']}/refund", json={})
    body = response.get_json()
    assert response.status_code == 409 and body["type"] == "refund_rejected"
    assert "already been refunded" in body["message"]
    with database.db.connection_context():
        assert Ticket.get_by_id(tickets[1]["id"]).status == "valid"
    fake.refund_mode = "ok"
    charge_id = fake.intents[data["paymentRef"]]["latest_charge"]
    hook = send_webhook(tenant, settings, "charge.refunded", fake.charges[charge_id])
    assert hook.status_code == 200 and hook.get_json()["recorded"] == "charge_refunded"
    assert booking_row(data["bookingId"]).payment_data["stripe_events"][-1]["amountRefunded"] == 1999


def test_whole_booking_refund_in_yen(tenant, fake):
    use_stripe(tenant, fake)
    data, _, _ = buy(tenant, price=1500, currency="JPY", quantity=2)
    fake.pay(data["paymentRef"])
    assert confirm(tenant, data["bookingId"]).status_code == 200
    response = tenant.staff.post(f"/events/bookings/{data['bookingId']}/refund", json={})
    assert response.status_code == 200, response.get_json()
    [call] = fake.calls("POST", "/v1/refunds")
    assert call.form["amount"] == "3000"


def test_unhandled_event_types_are_acknowledged(tenant, fake):
    settings = use_stripe(tenant, fake)
    response = send_webhook(tenant, settings, "customer.created", {"id": "cus_123", "object": "customer"})
    assert response.status_code == 200 and response.get_json()["handled"] is False


def paid_stale_cart(tenant, fake, **settings_overrides) -> tuple[dict, dict, str, str, dict]:
    """(settings, purchase, event id, ticket type id, intent) of a 2-seat booking paid with stripe after its
    hold ran out, the next buyer having taken both seats (lazily expiring the hold)."""
    from test_purchase_support import age_booking

    settings = use_stripe(tenant, fake, **settings_overrides)
    data, event_id, tt = buy(tenant, price=10, quantity=2, capacity=2)
    intent = fake.pay(data["paymentRef"])
    age_booking(data["bookingId"])
    response = tenant.guest.post("/client/events/tickets/purchase",
                                 json=guest_purchase(tenant, event_id, [(tt, 2)], paymentGateway="stripe"))
    assert response.status_code == 201, response.get_json()  # the seats went to someone else
    return settings, data, event_id, tt, intent


def test_payment_after_the_hold_expired_and_seats_resold_is_refunded_automatically(tenant, fake):
    settings, data, _, _, intent = paid_stale_cart(tenant, fake)
    hook = send_webhook(tenant, settings, "payment_intent.succeeded", intent)
    assert hook.status_code == 200 and hook.get_json()["refused"] == "hold_expired"
    again = confirm(tenant, data["bookingId"])
    assert again.status_code == 409 and again.get_json()["refunded"] is True
    [call] = fake.calls("POST", "/v1/refunds")
    assert call.form["payment_intent"] == data["paymentRef"] and call.form["amount"] == "2000"
    assert fake.calls("POST", f"/v1/payment_intents/{data['paymentRef']}/cancel") == []  # succeeded: kept
    assert booking_row(data["bookingId"]).status == "refunded" and ticket_ids(data["bookingId"]) == []


def _cancels(fake, intent_id: str) -> list:
    return fake.calls("POST", f"/v1/payment_intents/{intent_id}/cancel")


@pytest.mark.parametrize("expired_by", ["job", "next_purchase"])
def test_an_expired_hold_cancels_the_intent_and_the_stale_cart_is_409(tenant, fake, expired_by):
    from test_purchase_support import age_booking

    from core.services import holds

    settings = use_stripe(tenant, fake)
    data, event_id, tt = buy(tenant, price=10, quantity=2, capacity=2)
    age_booking(data["bookingId"])
    if expired_by == "job":
        with database.db.connection_context():
            assert holds.expire_holds_job() >= 1
    # the next buyer takes the seats (lazily expiring the overdue hold first when the job has not run)
    taker = tenant.guest.post("/client/events/tickets/purchase",
                              json=guest_purchase(tenant, event_id, [(tt, 2)], paymentGateway="stripe"))
    assert taker.status_code == 201, taker.get_json()
    [cancel] = _cancels(fake, data["paymentRef"])
    assert cancel.form["cancellation_reason"] == "abandoned"
    assert fake.intents[data["paymentRef"]]["status"] == "canceled"
    browser = stripe.StripeClient(settings["secret_key"], base_addresses={"api": fake.url}, max_network_retries=0)
    with pytest.raises(stripe.InvalidRequestError) as refused:   # what Stripe.js gets for the dead cart
        browser.v1.payment_intents.confirm(data["paymentRef"], params={"payment_method": "pm_card_visa"})
    assert refused.value.code == "payment_intent_unexpected_state"
    for _ in range(2):
        response = confirm(tenant, data["bookingId"], data["paymentRef"])
        body = response.get_json()
        assert response.status_code == 409, body
        assert body["type"] == "hold_expired" and body["refunded"] is False
    assert fake.calls("POST", "/v1/refunds") == [] and len(_cancels(fake, data["paymentRef"])) == 1
    assert booking_row(data["bookingId"]).status == "expired" and ticket_ids(data["bookingId"]) == []
    assert counters(event_id, tt) == {"event_sold": 0, "event_held": 2, "tickets": 0, "sold": 0, "held": 2}


def test_a_provider_failing_to_void_does_not_break_expiry(tenant, fake):
    from test_purchase_support import age_booking

    from core.services import holds

    use_stripe(tenant, fake)
    data, event_id, tt = buy(tenant, quantity=2)
    age_booking(data["bookingId"])
    tenant.configure("stripe", api_base="http://127.0.0.1:9")     # Stripe unreachable from now on
    with database.db.connection_context():
        assert holds.expire_holds_job() >= 1
    assert booking_row(data["bookingId"]).status == "expired" and counters(event_id, tt)["held"] == 0
    assert _cancels(fake, data["paymentRef"]) == []              # the void failed and was only logged


def test_a_voided_intent_with_seats_still_free_says_to_start_a_new_purchase(tenant, fake):
    from test_purchase_support import age_booking

    from core.services import holds

    use_stripe(tenant, fake)
    data, event_id, tt = buy(tenant, price=10, quantity=2, capacity=10)
    age_booking(data["bookingId"])
    with database.db.connection_context():
        assert holds.expire_holds_job() >= 1
    response = confirm(tenant, data["bookingId"], data["paymentRef"])
    assert response.status_code == 402 and response.get_json()["type"] == "payment_not_completed"
    assert "start a new purchase" in response.get_json()["message"]
    assert booking_row(data["bookingId"]).status == "expired" and counters(event_id, tt)["held"] == 0


def test_cancelling_a_pending_booking_cancels_its_intent(tenant, fake):
    use_stripe(tenant, fake)
    data, event_id, tt = buy(tenant, quantity=2)
    response = tenant.staff.post(f"/events/bookings/{data['bookingId']}/cancel")
    assert response.status_code == 200 and response.get_json()["status"] == "cancelled"
    assert len(_cancels(fake, data["paymentRef"])) == 1
    assert fake.intents[data["paymentRef"]]["status"] == "canceled" and counters(event_id, tt)["held"] == 0
    late = confirm(tenant, data["bookingId"])
    assert late.status_code == 409 and late.get_json()["type"] == "booking_cancelled"


def test_concurrent_confirms_and_webhooks_of_a_paid_stale_cart_refund_once(live_server, tenant, fake):
    from concurrent.futures import ThreadPoolExecutor

    import requests

    # twelve requests at once on a loaded machine: give Stripe calls longer than the 1 s the other tests use
    settings, data, event_id, tt, intent = paid_stale_cart(tenant, fake, timeout="10")
    payload = event_payload("payment_intent.succeeded", intent)

    def attempt(i):
        if i % 2:
            return requests.post(f"{live_server.url}/webhooks/stripe/{tenant.orgid}", data=payload, timeout=60,
                                 headers={"Stripe-Signature": sign_payload(payload, settings["webhook_secret"]),
                                          "Content-Type": "application/json"})
        return requests.post(f"{live_server.url}/client/events/tickets/confirm-order", timeout=60,
                             json={"bookingId": data["bookingId"]}, headers={"orgid": tenant.orgid})

    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = [a.json() for a in pool.map(attempt, range(12))]
    assert {a.get("refused") for a in answers[1::2]} == {"hold_expired"}
    assert {(a["type"], a["refunded"]) for a in answers[::2]} == {("hold_expired", True)}
    assert len(fake.calls("POST", "/v1/refunds")) == 1 and _cancels(fake, data["paymentRef"]) == []
    assert booking_row(data["bookingId"]).status == "refunded" and ticket_ids(data["bookingId"]) == []
    assert counters(event_id, tt) == {"event_sold": 0, "event_held": 2, "tickets": 0, "sold": 0, "held": 2}


def test_a_keyed_purchase_keeps_the_client_secret_sealed_and_a_replay_returns_it(tenant, fake):
    use_stripe(tenant, fake)
    event_id = make_event(tenant)
    tt = make_type(tenant, event_id, price=12, capacity=5)
    body = guest_purchase(tenant, event_id, [(tt, 1)], paymentGateway="stripe")
    first = tenant.guest.post("/client/events/tickets/purchase", json=body, headers={"Idempotency-Key": "sealed-1"})
    assert first.status_code == 201, first.get_json()
    secret = first.get_json()["clientSecret"]
    assert secret and secret == fake.intents[first.get_json()["paymentRef"]]["client_secret"]
    with database.db.connection_context():
        stored = [row.response_body for row in IdempotencyRecord.select().where(IdempotencyRecord.key == "sealed-1")]
    assert len(stored) == 1 and secret not in stored[0] and "clientSecret" not in stored[0]
    with database.db.connection_context():
        assert rows_containing(secret) == []   # nor on the booking, which keeps it sealed too
    again = tenant.guest.post("/client/events/tickets/purchase", json=body, headers={"Idempotency-Key": "sealed-1"})
    assert again.status_code == 201 and again.get_json() == first.get_json()
    assert len(fake.calls("POST", "/v1/payment_intents")) == 1

    # An answer that does not open under this deployment's key is never replayed as something else, nor redone.
    with database.db.connection_context():
        IdempotencyRecord.update(response_body="not-sealed").where(IdempotencyRecord.key == "sealed-1").execute()
    unreadable = tenant.guest.post("/client/events/tickets/purchase", json=body,
                                   headers={"Idempotency-Key": "sealed-1"})
    assert unreadable.status_code == 409 and unreadable.get_json()["type"] == "idempotency_answer_unreadable"
    assert len(fake.calls("POST", "/v1/payment_intents")) == 1 and counters(event_id, tt)["held"] == 1


def test_a_booking_pending_across_the_upgrade_keeps_its_client_data_in_the_clear_form(tenant, fake):
    """A booking whose client data was stored before it was sealed still gives it back (its buyer can pay)."""
    from core.models import Booking
    from core.services.booking import load_result

    use_stripe(tenant, fake)
    event_id = make_event(tenant)
    tt = make_type(tenant, event_id, price=12, capacity=5)
    answer = tenant.guest.post("/client/events/tickets/purchase",
                               json=guest_purchase(tenant, event_id, [(tt, 1)], paymentGateway="stripe")).get_json()
    legacy = {"payment": {"client_secret": answer["clientSecret"], "data": {}}}
    with database.db.connection_context():
        Booking.update(payment_data=legacy).where(Booking.id == answer["bookingId"]).execute()
        assert load_result(Booking.get_by_id(answer["bookingId"])).payment["client_secret"] == answer["clientSecret"]

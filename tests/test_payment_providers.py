"""Payment providers: selection by identifier, the default gateway, the core's free and box-office methods,
unsupported steps, and a partner's provider built on the public kit only, end to end over HTTP.

Each test provisions its own tenants; the partner and fake providers are registered like third-party plugins.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets

import pytest
from fakes.checks import booking_row, fake_fixtures, ticket_ids
from fakes.stripe_server import FakeStripe
from marshmallow import Schema, fields
from test_purchase_support import counters, guest_purchase, make_event, make_type
from ticket_factory import enabled_plugin, fake_gateway

from core import db as database
from core.hookspecs import hookimpl
from core.models import Ticket
from core.payments import PaymentCheck, PaymentProvider, RefundResult, Step, WebhookDelivery, kit
from tenants import service

fake_server, fake = fake_fixtures(FakeStripe)

PURCHASE = "/client/events/tickets/purchase"
CONFIRM = "/client/events/tickets/confirm-order"
BOX_OFFICE = "/events/tickets/purchase"


def buy(tenant, event, tt, **extra):
    return tenant.guest.post(PURCHASE, json=guest_purchase(tenant, event, [(tt, 1)], **extra))


def disable(tenant, plugin: str) -> None:
    with database.db.connection_context():
        service.set_plugin_enabled(tenant.orgid, plugin, False)


# --- selection and the default gateway -----------------------------------------------------------

def test_the_core_picks_the_provider_the_request_names(tenant):
    event = make_event(tenant)
    tt = make_type(tenant, event, price=10)
    with fake_gateway(tenant, "alpha"), fake_gateway(tenant, "beta"):
        for name in ("alpha", "beta"):
            body = buy(tenant, event, tt, paymentGateway=name).get_json()
            assert body["paymentGateway"] == name and body["paymentRef"] == f"{name}_{body['bookingId']}"
        unknown = buy(tenant, event, tt, paymentGateway="gamma")
        assert unknown.status_code == 422 and unknown.get_json()["type"] == "gateway_not_enabled"
        assert unknown.get_json()["gateways"] == ["alpha", "beta", "offline"]
        # two gateways take money and the tenant set no default: the client must choose
        choose = buy(tenant, event, tt)
        assert choose.status_code == 422 and choose.get_json()["type"] == "payment_gateway_required"


def test_the_default_gateway_setting_is_used_when_a_purchase_names_none(tenant, operator):
    event = make_event(tenant)
    tt = make_type(tenant, event, price=10)
    with fake_gateway(tenant, "alpha"), fake_gateway(tenant, "beta"):
        admin = tenant.staff.patch("/org/settings", json={"defaultGateway": "beta"})
        assert admin.status_code == 200 and admin.get_json()["defaultGateway"] == "beta"
        assert buy(tenant, event, tt).get_json()["paymentGateway"] == "beta"
        # the operator sets it too; an explicit gateway still wins
        done = operator.patch(f"/operator/tenants/{tenant.orgid}", json={"defaultGateway": "offline"})
        assert done.status_code == 200 and done.get_json()["defaultGateway"] == "offline"
        assert buy(tenant, event, tt).get_json()["paymentGateway"] == "offline"
        assert buy(tenant, event, tt, paymentGateway="alpha").get_json()["paymentGateway"] == "alpha"
        bad = tenant.staff.patch("/org/settings", json={"defaultGateway": "gamma"})
        assert bad.status_code == 422 and bad.get_json()["type"] == "invalid_default_gateway"
        assert tenant.staff.get("/org/settings").get_json()["defaultGateway"] == "offline"
        cleared = tenant.staff.patch("/org/settings", json={"defaultGateway": None})
        assert cleared.status_code == 200 and cleared.get_json()["defaultGateway"] is None
        assert buy(tenant, event, tt).get_json()["type"] == "payment_gateway_required"


def test_000s_purchase_body_works_with_stripe_and_offline_enabled(tenant, fake):
    tenant.enable("stripe")
    tenant.configure("stripe", secret_key="sk_test_" + secrets.token_hex(8), publishable_key="pk_test_x",
                     api_base=fake.url, timeout="5")
    event = make_event(tenant)
    tt = make_type(tenant, event, price="12.50")
    customer = tenant.customer()
    response = customer.post(PURCHASE, json={"eventId": event, "tickets": [{"ticketTypeId": tt, "quantity": 2}]})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["paymentGateway"] == "stripe" and body["paymentIntentSecret"] and body["amount"] == 2500
    # the box office still defaults to the staff-settled method
    walk_up = tenant.staff.post(BOX_OFFICE, json={"eventId": event, "items": [{"ticketTypeId": tt, "quantity": 1}]})
    assert walk_up.get_json()["paymentGateway"] == "offline"


# --- the core's own methods ------------------------------------------------------------------------

def test_a_tenant_without_gateway_plugins_sells_free_tickets_and_box_office_sales(app, operator):
    from conftest import make_tenant

    bare = make_tenant(app, "No Gateways", plugins=())
    event = make_event(bare)
    free = make_type(bare, event, name="Free", price=0)
    paid = make_type(bare, event, name="Paid", price=20, capacity=5)
    got = buy(bare, event, free).get_json()
    assert got["status"] == "confirmed" and got["paymentGateway"] == "free" and len(got["tickets"]) == 1
    online = buy(bare, event, paid)
    assert online.status_code == 422 and online.get_json()["type"] == "gateway_not_enabled"
    assert online.get_json()["gateways"] == []
    assert buy(bare, event, paid, paymentGateway="offline").get_json()["type"] == "gateway_not_enabled"
    sale = bare.staff.post(BOX_OFFICE, json={"eventId": event, "items": [{"ticketTypeId": paid, "quantity": 1}]})
    assert sale.status_code == 201 and sale.get_json()["status"] == "pending"
    booking_id = sale.get_json()["bookingId"]
    assert sale.get_json()["paymentGateway"] == "offline"
    marked = bare.staff.post(f"/events/bookings/{booking_id}/mark-paid", json={"reference": "cash-1"})
    assert marked.status_code == 200 and marked.get_json()["status"] == "confirmed"
    assert len(ticket_ids(booking_id)) == 1 and counters(event, paid)["sold"] == 1
    refund = bare.staff.post(f"/events/bookings/{booking_id}/refund", json={})
    assert refund.status_code == 200, refund.get_json()
    assert booking_row(booking_id).status == "refunded"


def test_stored_offline_bookings_stay_payable_and_refundable_without_the_plugin(tenant):
    event = make_event(tenant)
    tt = make_type(tenant, event, price=15)
    pending = buy(tenant, event, tt, paymentGateway="offline").get_json()
    assert pending["paymentData"]["instructions"]
    disable(tenant, "offline")
    marked = tenant.staff.post(f"/events/bookings/{pending['bookingId']}/mark-paid", json={"reference": "tr-9"})
    assert marked.status_code == 200 and marked.get_json()["status"] == "confirmed"
    ticket = marked.get_json()["tickets"][0]["id"]
    part = tenant.staff.post(f"/events/tickets/{ticket}/refund", json={"amount": "5.00"})
    assert part.status_code == 200, part.get_json()
    assert booking_row(pending["bookingId"]).refunded_amount == 500


def test_mark_paid_refuses_a_booking_a_provider_collects(tenant):
    event = make_event(tenant)
    tt = make_type(tenant, event, price=10)
    with fake_gateway(tenant, "alpha"):
        booking_id = buy(tenant, event, tt, paymentGateway="alpha").get_json()["bookingId"]
        refused = tenant.staff.post(f"/events/bookings/{booking_id}/mark-paid", json={"reference": "x"})
    assert refused.status_code == 422 and refused.get_json()["type"] == "not_offline_booking"


# --- unsupported steps -----------------------------------------------------------------------------

class WholeRefundsOnly(PaymentProvider):
    """Pays at once, refunds only whole bookings, cannot void."""

    identifier = "wholepay"
    capabilities = frozenset({Step.CREATE, Step.VERIFY, Step.REFUND})

    def create_payment(self, org, booking, settings):
        return {"reference": f"wp_{booking.id}"}

    def verify_payment(self, org, booking, payment_ref, settings):
        return PaymentCheck(paid=True, reference=payment_ref, amount=booking.amount, currency=booking.currency)

    def refund(self, org, booking, payment_ref, amount, settings):
        return RefundResult(succeeded=True, reference=f"re_{booking.id}", amount=amount)


class WholeRefundsPlugin:
    @hookimpl
    def payment_gateways(self):
        return [WholeRefundsOnly()]


def test_a_step_the_provider_did_not_declare_answers_422_and_changes_nothing(tenant):
    event = make_event(tenant)
    tt = make_type(tenant, event, price=10)
    with enabled_plugin(tenant, WholeRefundsPlugin(), "test-wholepay"):
        order = buy(tenant, event, tt, paymentGateway="wholepay").get_json()
        confirmed = tenant.guest.post(CONFIRM, json={"orderId": order["orderId"]}).get_json()
        ticket = confirmed["tickets"][0]["id"]
        part = tenant.staff.post(f"/events/tickets/{ticket}/refund", json={"amount": "4.00"})
        assert part.status_code == 422 and part.get_json()["type"] == "payment_step_unsupported"
        assert part.get_json()["step"] == "partial_refund" and part.get_json()["gateway"] == "wholepay"
        assert booking_row(order["bookingId"]).refunded_amount == 0
        with database.db.connection_context():
            assert Ticket.get_by_id(ticket).status == "valid"
        whole = tenant.staff.post(f"/events/bookings/{order['bookingId']}/refund", json={})
        assert whole.status_code == 200 and booking_row(order["bookingId"]).status == "refunded"


def test_declaring_a_step_without_implementing_it_fails_at_class_creation():
    with pytest.raises(TypeError, match="refund"):
        class Careless(PaymentProvider):   # noqa: F841 - defining it is the test
            identifier = "careless"
            capabilities = frozenset({Step.CREATE, Step.REFUND})

            def create_payment(self, org, booking, settings):
                return {}


# --- a partner's provider on the public kit only ------------------------------------------------

class PartnerPay(PaymentProvider):
    """A third party's gateway: its 'provider' is the in-memory ledger `charges`; webhooks are HMAC-signed."""

    identifier = "partnerpay"
    name = "Partner Pay"
    capabilities = frozenset({Step.CREATE, Step.VERIFY, Step.REFUND, Step.PARTIAL_REFUND, Step.WEBHOOK})

    def __init__(self):
        self.charges: dict[str, dict] = {}     # reference -> {"booking", "org", "amount", "currency", "paid"}
        self.refunds: list[tuple[str, int]] = []

    def create_payment(self, org, booking, settings):
        kit.require_settings(self.identifier, settings, ("api_key", "signing_key"))
        reference = f"pp_{booking.id}"
        self.charges.setdefault(reference, {"booking": booking.id, "org": org.id, "amount": booking.amount,
                                            "currency": booking.currency, "paid": False})
        return {"reference": reference, "approval_url": f"https://partner.example/pay/{reference}"}

    def verify_payment(self, org, booking, payment_ref, settings):
        charge = self.charges.get(payment_ref) if kit.valid_reference(payment_ref) else None
        if not charge or charge["org"] != org.id or charge["booking"] != booking.id:
            return PaymentCheck(paid=False, reason="Partner Pay knows no such payment for this booking.")
        return PaymentCheck(paid=charge["paid"], reference=payment_ref, amount=charge["amount"],
                            currency=charge["currency"], reason="" if charge["paid"] else "Not paid yet.")

    def refund(self, org, booking, payment_ref, amount, settings):
        self.refunds.append((payment_ref, amount))
        return RefundResult(succeeded=True, reference=f"ppr_{len(self.refunds)}", amount=amount)

    def handle_webhook(self, org, settings, delivery: WebhookDelivery):
        kit.require_settings(self.identifier, settings, ("signing_key",))
        expected = hmac.new(settings["signing_key"].encode(), delivery.body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, delivery.headers.get("X-Partner-Signature", "")):
            raise kit.invalid_signature(self.identifier, "the X-Partner-Signature does not match")
        event = json.loads(delivery.body)
        booking = kit.find_booking(org, event.get("bookingId"))
        if booking is None:
            return {"received": True, "handled": False, "type": event.get("type")}
        return {"received": True, "handled": True, "type": event.get("type"),
                **kit.confirm_paid_booking(org, booking, event.get("reference"), self.identifier)}


class PartnerPlugin:
    """What a partner's package registers under the `boxoffice.plugins` entry point."""

    def __init__(self):
        self.provider = PartnerPay()

    @hookimpl
    def payment_gateways(self):
        return [self.provider]


def _signed(key: str, event: dict) -> tuple[bytes, dict]:
    body = json.dumps(event).encode()
    return body, {"X-Partner-Signature": hmac.new(key.encode(), body, hashlib.sha256).hexdigest(),
                  "Content-Type": "application/json"}


def test_a_partner_provider_takes_a_paid_order_end_to_end(tenant, other_tenant):
    plugin = PartnerPlugin()
    event = make_event(tenant)
    tt = make_type(tenant, event, price="7.50", capacity=4)
    with enabled_plugin(tenant, plugin, "partnerpay"):
        unconfigured = buy(tenant, event, tt, paymentGateway="partnerpay")
        assert unconfigured.status_code == 409 and unconfigured.get_json()["type"] == "gateway_not_configured"
        assert counters(event, tt)["held"] == 0
        tenant.configure("partnerpay", api_key="pk_1", signing_key="sig-secret")
        order = buy(tenant, event, tt).get_json()          # the only gateway taking money: the default
        assert order["paymentGateway"] == "partnerpay" and order["status"] == "pending"
        assert order["approvalUrl"].endswith(order["paymentRef"])
        unpaid = tenant.guest.post(CONFIRM, json={"orderId": order["orderId"]})
        assert unpaid.status_code == 402 and unpaid.get_json()["type"] == "payment_not_completed"
        plugin.provider.charges[order["paymentRef"]]["paid"] = True        # the buyer paid at the partner
        body, headers = _signed("sig-secret", {"type": "paid", "bookingId": order["bookingId"],
                                               "reference": order["paymentRef"]})
        forged = tenant.guest.flask.post(f"/webhooks/partnerpay/{tenant.orgid}", data=body,
                                         headers=dict(headers, **{"X-Partner-Signature": "00"}))
        assert forged.status_code == 400 and forged.get_json()["type"] == "invalid_signature"
        hook = tenant.guest.flask.post(f"/webhooks/partnerpay/{tenant.orgid}", data=body, headers=headers)
        assert hook.status_code == 200 and hook.get_json()["status"] == "confirmed"
        again = tenant.guest.post(CONFIRM, json={"orderId": order["orderId"]}).get_json()
        assert again["status"] == "confirmed" and len(ticket_ids(order["bookingId"])) == 1
        assert counters(event, tt) == {"event_sold": 1, "event_held": 0, "tickets": 1, "sold": 1, "held": 0}
        refund = tenant.staff.post(f"/events/bookings/{order['bookingId']}/refund", json={})
        assert refund.status_code == 200 and plugin.provider.refunds == [(order["paymentRef"], 750)]
        # another tenant, without the plugin, has no such webhook
        other = other_tenant.guest.flask.post(f"/webhooks/partnerpay/{other_tenant.orgid}", data=body,
                                              headers=headers)
        assert other.status_code == 404 and other.get_json()["type"] == "plugin_not_enabled"


class MerchantSettings(Schema):
    merchant_code = fields.String(metadata={"secret": True})
    fee = fields.Float()


class MerchantPay(WholeRefundsOnly):
    identifier = "merchantpay"
    settings_schema = MerchantSettings


class MerchantPlugin:
    @hookimpl
    def payment_gateways(self):
        return [MerchantPay()]


def test_a_providers_settings_schema_checks_and_masks_its_settings(operator, tenant):
    path = f"/operator/tenants/{tenant.orgid}/plugins/test-merchantpay/settings"
    with enabled_plugin(tenant, MerchantPlugin(), "test-merchantpay"):
        bad = operator.patch(path, json={"fee": "lots", "merchant_code": "M-0001-PRIVATE"})
        assert bad.status_code == 422 and bad.get_json()["type"] == "invalid_setting"
        assert set(bad.get_json()["errors"]) == {"fee"}
        assert operator.get(path).get_json() == {}                  # nothing was stored
        good = operator.patch(path, json={"fee": 2.5, "merchant_code": "M-0001-PRIVATE", "note": "kept"})
        assert good.status_code == 200, good.get_json()
        shown = operator.get(path).get_json()
    assert shown == {"fee": "2.5", "merchant_code": "****", "note": "kept"}


# --- redirect flows --------------------------------------------------------------------------------

def _stripe_order(tenant, fake, price="20.00"):
    tenant.enable("stripe")
    tenant.configure("stripe", secret_key="sk_test_" + secrets.token_hex(8), publishable_key="pk_test_x",
                     api_base=fake.url, timeout="5")
    event = make_event(tenant)
    tt = make_type(tenant, event, price=price, capacity=3)
    return buy(tenant, event, tt, paymentGateway="stripe").get_json(), event, tt


def _follow_back(tenant, url: str, session_id: str):
    """What the buyer's browser does when Stripe sends it back: no orgid header, no token."""
    path = url.split("127.0.0.1:8000", 1)[1].replace("{CHECKOUT_SESSION_ID}", session_id)
    return tenant.guest.flask.get(path)


def test_a_redirect_payment_comes_back_without_our_headers_and_confirms_once(tenant, fake):
    order, event, tt = _stripe_order(tenant, fake)
    started = tenant.guest.post("/client/events/payments/redirect",
                                json={"bookingId": order["bookingId"], "returnUrl": "https://shop.example/done?x=1"})
    assert started.status_code == 200, started.get_json()
    session_id = started.get_json()["url"].rsplit("/", 1)[1]
    session = fake.sessions[session_id]
    # back before paying (or cancelled at Stripe): still pending, told so
    early = _follow_back(tenant, session["cancel_url"], session_id)
    location = early.headers["Location"]
    assert early.status_code == 303 and location.startswith("https://shop.example/done?x=1&")
    assert f"bookingId={order['bookingId']}" in location and "status=pending" in location
    fake.complete_session(session_id)
    back = _follow_back(tenant, session["success_url"], session_id)
    assert back.status_code == 303 and "status=confirmed" in back.headers["Location"]
    again = _follow_back(tenant, session["success_url"], session_id)       # a reload confirms nothing twice
    assert "status=confirmed" in again.headers["Location"]
    assert booking_row(order["bookingId"]).status == "confirmed" and len(ticket_ids(order["bookingId"])) == 1
    assert counters(event, tt)["sold"] == 1
    forged = _follow_back(tenant, session["success_url"].replace("/return/", "/return/x"), session_id)
    assert forged.status_code == 400 and forged.get_json()["type"] == "invalid_callback"


def test_a_provider_without_redirects_answers_422(tenant):
    event = make_event(tenant)
    tt = make_type(tenant, event, price=10)
    with fake_gateway(tenant, "alpha"):
        order = buy(tenant, event, tt, paymentGateway="alpha").get_json()
        refused = tenant.guest.post("/client/events/payments/redirect",
                                    json={"bookingId": order["bookingId"], "returnUrl": "https://shop.example/"})
    assert refused.status_code == 422 and refused.get_json()["type"] == "payment_step_unsupported"
    assert refused.get_json()["step"] == "redirect"
    assert booking_row(order["bookingId"]).status == "pending"

"""Purchase: checks, server-side pricing, holds, gateways, free checkout, both request shapes, isolation."""

from __future__ import annotations

import datetime as dt

import pytest
from test_purchase_support import counters, guest_purchase, iso, make_event, make_type

from core.errors import GatewayUnavailable
from core.hookspecs import hookimpl
from core.payments import PaymentProvider, Step

PURCHASE = "/client/events/tickets/purchase"


def test_paid_purchase_holds_seats_and_returns_payment_start(tenant):
    event = make_event(tenant, capacity=10)
    vip = make_type(tenant, event, name="VIP", price="25.00", capacity=5, serviceFeeAmount="1.50",
                    serviceFeePercentage=10)
    response = tenant.guest.post(PURCHASE, json=guest_purchase(tenant, event, [(vip, 2)]))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    # unit 2500 + fee 150 + 10% of 2500 = 250 -> 2900 per unit
    assert body["amount"] == 5800 and body["currency"] == "USD"
    assert body["subtotal"] == 5000 and body["fees"] == 800
    assert body["status"] == "pending" and body["paymentGateway"] == "offline"
    assert body["orderId"] == body["bookingId"] and len(body["bookingId"]) == 36
    assert body["expiresAt"] and body["paymentIntentSecret"] == body["clientSecret"]
    assert body["paymentData"]["instructions"]
    assert body["lines"] == [{"kind": "ticket", "ticketTypeId": vip, "name": "VIP", "quantity": 2, "seats": 2,
                              "unitPrice": 2500, "unitFee": 400, "total": 5800}]
    assert body["tickets"] == []
    assert counters(event, vip) == {"event_sold": 0, "event_held": 2, "tickets": 0, "sold": 0, "held": 2}


def test_hold_lasts_the_tenant_hold_minutes(tenant):
    from core import db as database
    from core.models import Org
    from core.tenancy import forget_org

    with database.db.connection_context():
        Org.update(hold_minutes=3).where(Org.id == tenant.orgid).execute()
    forget_org(tenant.orgid)
    event = make_event(tenant)
    tt = make_type(tenant, event, price=5)
    body = tenant.guest.post(PURCHASE, json=guest_purchase(tenant, event, [(tt, 1)])).get_json()
    expires = dt.datetime.strptime(body["expiresAt"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    assert dt.timedelta(minutes=2) < expires - dt.datetime.now(dt.UTC) <= dt.timedelta(minutes=3)


def test_tickets_shape_and_free_total_confirms_at_once(tenant):
    event = make_event(tenant)
    free = make_type(tenant, event, name="Free", price=0, capacity=3)
    customer = tenant.customer()
    response = customer.post(PURCHASE, json={"eventId": event, "tickets": [{"ticketTypeId": free, "quantity": 2}]})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"] == "confirmed" and body["amount"] == 0 and body["paymentGateway"] == "free"
    assert body["expiresAt"] is None and len(body["tickets"]) == 2
    assert {t["holderEmail"] for t in body["tickets"]} == {customer.email}
    assert counters(event, free) == {"event_sold": 2, "event_held": 0, "tickets": 2, "sold": 2, "held": 0}
    mine = customer.get("/client/events/tickets/mine")
    assert mine.status_code == 200


def test_quantity_per_unit_grouped_and_order_limits(tenant):
    event = make_event(tenant, capacity=40)
    table = make_type(tenant, event, name="Table of 10", price=0, capacity=50, quantity=10, grouped=True,
                      orderMin=1, orderMax=2)
    pair = make_type(tenant, event, name="Pair", price=0, capacity=30, quantity=2, orderMin=2)
    ok = tenant.guest.post(PURCHASE, json=guest_purchase(tenant, event, [(table, 2), (pair, 2)]))
    assert ok.status_code == 201, ok.get_json()
    body = ok.get_json()
    assert [(line["quantity"], line["seats"]) for line in body["lines"]] == [(2, 20), (2, 4)]
    assert len(body["tickets"]) == 2 + 4   # one grouped ticket per table unit, one per seat of the pairs
    too_many = tenant.guest.post(PURCHASE, json=guest_purchase(tenant, event, [(table, 3)]))
    assert too_many.status_code == 422 and too_many.get_json()["type"] == "above_order_max"
    too_few = tenant.guest.post(PURCHASE, json=guest_purchase(tenant, event, [(pair, 1)]))
    assert too_few.status_code == 422 and too_few.get_json()["type"] == "below_order_min"
    # event capacity 40: 24 taken, a further table of 10 fits, a second one does not
    assert tenant.guest.post(PURCHASE, json=guest_purchase(tenant, event, [(table, 1)])).status_code == 201
    full = tenant.guest.post(PURCHASE, json=guest_purchase(tenant, event, [(table, 1)]))
    assert full.status_code == 409 and full.get_json()["type"] == "sold_out"
    assert full.get_json()["remaining"] == 6 and full.get_json()["ticketTypeId"] == table


def test_sold_out_names_the_type_and_changes_nothing(tenant):
    event = make_event(tenant)
    general = make_type(tenant, event, name="General", price=10, capacity=3)
    other = make_type(tenant, event, name="Other", price=10, capacity=50)
    assert tenant.guest.post(PURCHASE, json=guest_purchase(tenant, event, [(general, 2)])).status_code == 201
    response = tenant.guest.post(PURCHASE, json=guest_purchase(tenant, event, [(other, 1), (general, 2)]))
    body = response.get_json()
    assert response.status_code == 409 and body["type"] == "sold_out"
    assert body["ticketTypeName"] == "General" and body["remaining"] == 1 and "General" in body["message"]
    assert counters(event, other)["held"] == 0 and counters(event, general)["held"] == 2


def test_a_total_beyond_what_a_booking_holds_is_422_and_holds_nothing(tenant):
    # each price fits its column, five of them do not fit a booking's (a 500 on PostgreSQL before)
    event = make_event(tenant)
    gala = make_type(tenant, event, name="Gala", price="20000000.00", capacity=10)
    response = tenant.guest.post(PURCHASE, json=guest_purchase(tenant, event, [(gala, 5)]))
    assert response.status_code == 422 and response.get_json()["type"] == "amount_too_large"
    assert counters(event, gala)["held"] == 0
    assert tenant.guest.post(PURCHASE, json=guest_purchase(tenant, event, [(gala, 1)])).status_code == 201


def test_checks_on_event_and_ticket_type(tenant, other_tenant):
    event = make_event(tenant)
    draft = make_event(tenant, published=False)
    draft_type = make_type(tenant, draft)
    tt = make_type(tenant, event, price=5)
    other_event = make_event(tenant)
    later = make_type(tenant, event, name="Later", saleStart=iso(dt.timedelta(days=1)))
    private = make_type(tenant, event, name="Crew", visibility="private")
    invite = make_type(tenant, event, name="Friends", visibility="invite-only", inviteCode="OPEN-SESAME")
    eur = make_type(tenant, event, name="Euro", price=5, currency="EUR")

    def attempt(client, event_id, items, **extra):
        response = client.post(PURCHASE, json=guest_purchase(tenant, event_id, items, **extra))
        return response.status_code, response.get_json().get("type")

    g = tenant.guest
    assert attempt(g, draft, [(draft_type, 1)]) == (404, "event_not_found")
    assert attempt(g, other_event, [(tt, 1)]) == (422, "ticket_type_not_in_event")
    assert attempt(g, event, [(later, 1)]) == (422, "sale_not_started")
    assert attempt(g, event, [(private, 1)]) == (404, "ticket_type_not_found")
    assert attempt(g, event, [(invite, 1)]) == (403, "invite_code_required")
    assert attempt(g, event, [(invite, 1)], inviteCode="nope") == (403, "invalid_invite_code")
    assert attempt(g, event, [(invite, 1)], inviteCode="OPEN-SESAME")[0] == 201
    assert attempt(g, event, [(tt, 1), (eur, 1)]) == (422, "mixed_currencies")
    assert attempt(g, event, [(tt, 1)], paymentGateway="stripe-ish") == (422, "gateway_not_enabled")
    assert attempt(g, event, [(tt, 1)], paymentGateway="free") == (422, "payment_required")
    assert attempt(g, "no-such-event", [(tt, 1)]) == (404, "event_not_found")
    foreign = other_tenant.guest.post(PURCHASE, json=guest_purchase(tenant, event, [(tt, 1)]))
    assert foreign.status_code == 404 and foreign.get_json()["type"] == "event_not_found"
    # staff box office may sell private and not-yet-on-sale types
    staff = tenant.staff.post("/events/tickets/purchase", json={"eventId": event, "items": [
        {"ticketTypeId": private, "quantity": 1}, {"ticketTypeId": later, "quantity": 1}]})
    assert staff.status_code == 201 and staff.get_json()["source"] == "box_office"
    assert counters(event) == {"event_sold": 3, "event_held": 0, "tickets": 3}


def test_bad_input_is_422_and_guest_needs_contact(tenant):
    event = make_event(tenant)
    tt = make_type(tenant, event)
    cases = [
        {"eventId": event},
        {"eventId": event, "items": [{"ticketTypeId": tt, "quantity": 0}]},
        {"eventId": event, "items": [{"ticketTypeId": tt, "quantity": "2"}]},
        {"eventId": event, "items": [{"ticketTypeId": tt, "quantity": 1}], "tickets": [{"ticketTypeId": tt,
                                                                                         "quantity": 1}]},
        {"eventId": event, "items": [{"ticketTypeId": tt, "quantity": 1}], "amount": 0},
        {"eventId": event, "items": [{"ticketTypeId": tt, "quantity": 1}], "email": "x@y.co"},
    ]
    for body in cases:
        response = tenant.guest.post(PURCHASE, json=body)
        assert response.status_code == 422, (body, response.get_json())
        assert response.get_json()["type"] == "validation_error"
    assert counters(event)["tickets"] == 0
    wrong_role = tenant.customer().post("/events/tickets/purchase", json=guest_purchase(tenant, event, [(tt, 1)]))
    assert wrong_role.status_code == 403


class PromoPlugin:
    """Takes 10.00 off with EARLY10, refuses unknown codes, and can make everything free."""

    @hookimpl
    def price_booking(self, org, quote, promo_code, customer):
        from core.errors import Unprocessable

        quote.record_code(promo_code)
        if promo_code == "EARLY10":
            quote.add_adjustment("discount", "Early bird", -1000)
        elif promo_code == "ALLFREE":
            quote.add_adjustment("discount", "On the house", -10**9)
        elif promo_code:
            raise Unprocessable("Unknown promo code.", type="invalid_promo_code")


def test_price_booking_hook_adjusts_and_total_never_below_zero(app, tenant):
    from core.plugins import get_host

    host = get_host()
    if not host.pm.has_plugin("test-promo"):
        host.register(PromoPlugin(), "test-promo")
    tenant.enable("test-promo")
    event = make_event(tenant)
    tt = make_type(tenant, event, price=30)
    body = tenant.guest.post(PURCHASE, json=guest_purchase(tenant, event, [(tt, 1)], promoCode="EARLY10")).get_json()
    assert body["amount"] == 2000 and body["adjustments"] == -1000
    assert body["lines"][1] == {"kind": "discount", "ticketTypeId": None, "name": "Early bird", "quantity": 1,
                                "seats": 0, "unitPrice": -1000, "unitFee": 0, "total": -1000}
    free = tenant.guest.post(PURCHASE, json=guest_purchase(tenant, event, [(tt, 1)], promoCode="ALLFREE")).get_json()
    assert free["amount"] == 0 and free["status"] == "confirmed" and len(free["tickets"]) == 1
    bad = tenant.guest.post(PURCHASE, json=guest_purchase(tenant, event, [(tt, 1)], promoCode="NOPE"))
    assert bad.status_code == 422 and bad.get_json()["type"] == "invalid_promo_code"


def test_promo_code_without_a_plugin_that_takes_codes_is_refused_and_holds_nothing(tenant):
    event = make_event(tenant)
    tt = make_type(tenant, event, price=30)
    refused = tenant.guest.post(PURCHASE, json=guest_purchase(tenant, event, [(tt, 2)], promoCode="EARLY10"))
    assert refused.status_code == 422 and refused.get_json()["type"] == "promo_codes_unavailable"
    assert "promoCode" in refused.get_json()["errors"]
    assert counters(event, tt) == {"event_sold": 0, "event_held": 0, "tickets": 0, "sold": 0, "held": 0}
    plain = tenant.guest.post(PURCHASE, json=guest_purchase(tenant, event, [(tt, 2)]))
    assert plain.status_code == 201 and plain.get_json()["amount"] == 6000


class FlakyProvider(PaymentProvider):
    """A paying gateway whose provider is down."""

    identifier = "flaky"
    capabilities = frozenset({Step.CREATE})

    def create_payment(self, org, booking, settings):
        raise GatewayUnavailable("The provider did not answer.")


class FlakyGateway:
    """The plugin offering it."""

    @hookimpl
    def payment_gateways(self):
        return [FlakyProvider()]


def test_gateway_down_is_502_and_keeps_the_hold(app, tenant, other_tenant):
    from core.plugins import get_host

    host = get_host()
    if not host.pm.has_plugin("test-flaky"):
        host.register(FlakyGateway(), "test-flaky")
    tenant.enable("test-flaky")
    event = make_event(tenant)
    tt = make_type(tenant, event, price=30, capacity=5)
    response = tenant.guest.post(PURCHASE, json=guest_purchase(tenant, event, [(tt, 1)], paymentGateway="flaky"))
    assert response.status_code == 502 and response.get_json()["type"] == "gateway_unavailable"
    assert response.get_json()["bookingId"]
    assert counters(event, tt)["held"] == 1
    # none chosen: flaky is the only gateway that takes money itself (offline is settled by staff), so the default
    default = tenant.guest.post(PURCHASE, json=guest_purchase(tenant, event, [(tt, 1)]))
    assert default.status_code == 502 and default.get_json()["type"] == "gateway_unavailable"
    # a tenant without the plugin cannot use it
    other_event = make_event(other_tenant)
    other_tt = make_type(other_tenant, other_event, price=30)
    refused = other_tenant.guest.post(PURCHASE, json=guest_purchase(other_tenant, other_event, [(other_tt, 1)],
                                                                    paymentGateway="flaky"))
    assert refused.status_code == 422 and refused.get_json()["type"] == "gateway_not_enabled"


def test_served_under_api_prefix(tenant):
    event = make_event(tenant)
    tt = make_type(tenant, event)
    response = tenant.guest.post("/api" + PURCHASE, json=guest_purchase(tenant, event, [(tt, 1)]))
    assert response.status_code == 201


def test_staff_token_on_the_client_endpoint_still_needs_contact(tenant):
    event = make_event(tenant)
    tt = make_type(tenant, event)
    bare = tenant.staff.post(PURCHASE, json={"eventId": event, "items": [{"ticketTypeId": tt, "quantity": 1}]})
    assert bare.status_code == 422 and set(bare.get_json()["errors"]["json"]) == {"email", "name"}
    walk_up = tenant.staff.post("/events/tickets/purchase", json={"eventId": event, "items": [
        {"ticketTypeId": tt, "quantity": 1}]})
    assert walk_up.status_code == 201 and walk_up.get_json()["email"] == ""


REGISTER = "/client/events/tickets/register"
BOX_OFFICE = "/events/tickets/purchase"
NOTHING_SOLD = {"event_sold": 0, "event_held": 0, "tickets": 0, "sold": 0, "held": 0}


def answer(client, path: str, body: dict) -> tuple[int, str | None]:
    """The status and error `type` a POST gets."""
    response = client.post(path, json=body)
    return response.status_code, response.get_json().get("type")


def test_ended_sale_or_event_is_refused_and_holds_nothing(tenant):
    event = make_event(tenant)
    closed = make_type(tenant, event, name="Early bird", saleEnd=iso(-dt.timedelta(minutes=1)))
    paid_closed = make_type(tenant, event, name="Early bird paid", price=5, saleEnd=iso(-dt.timedelta(minutes=1)))
    over = make_event(tenant, starts_at=iso(-dt.timedelta(days=2)), ends_at=iso(-dt.timedelta(minutes=1)))
    over_type = make_type(tenant, over)
    guest = tenant.guest
    for path in (PURCHASE, REGISTER):
        assert answer(guest, path, guest_purchase(tenant, event, [(closed, 1)])) == (422, "sale_ended"), path
        assert answer(guest, path, guest_purchase(tenant, over, [(over_type, 1)])) == (422, "event_ended"), path
    assert answer(guest, PURCHASE, guest_purchase(tenant, event, [(paid_closed, 1)])) == (422, "sale_ended")
    assert answer(tenant.staff, BOX_OFFICE, guest_purchase(tenant, over, [(over_type, 1)])) == (422, "event_ended")
    for event_id, type_id in ((event, closed), (event, paid_closed), (over, over_type)):
        assert counters(event_id, type_id) == NOTHING_SOLD


def test_another_tenants_ticket_type_cannot_be_bought(tenant, other_tenant):
    mine = make_event(tenant)
    my_type = make_type(tenant, mine)
    theirs = make_event(other_tenant)
    their_type = make_type(other_tenant, theirs)
    comp = {"eventId": mine, "ticketTypeId": their_type, "holders": [{"email": "a@b.co", "name": "A"}]}
    not_found = [
        (tenant.guest, PURCHASE, guest_purchase(tenant, mine, [(their_type, 1)]), "ticket_type_not_found"),
        (tenant.guest, PURCHASE, guest_purchase(tenant, mine, [(my_type, 1), (their_type, 1)]),
         "ticket_type_not_found"),
        (tenant.guest, PURCHASE, guest_purchase(tenant, theirs, [(their_type, 1)]), "event_not_found"),
        (tenant.guest, REGISTER, guest_purchase(tenant, mine, [(their_type, 1)]), "ticket_type_not_found"),
        (tenant.staff, BOX_OFFICE, guest_purchase(tenant, mine, [(their_type, 1)]), "ticket_type_not_found"),
        (tenant.staff, "/events/tickets/comp", comp, "ticket_type_not_found"),
        (other_tenant.guest, PURCHASE, guest_purchase(other_tenant, mine, [(their_type, 1)]), "event_not_found"),
    ]
    for client, path, body, type_ in not_found:
        assert answer(client, path, body) == (404, type_), (path, body)
    assert counters(mine, my_type) == counters(theirs, their_type) == NOTHING_SOLD


@pytest.mark.parametrize("capacity", [None, 2_147_483_647])
def test_seats_beyond_what_a_count_column_holds_is_422_and_holds_nothing(tenant, capacity):
    # a grouped unit of two billion seats: two units take more seats than a seat counter holds
    event = make_event(tenant)
    table = make_type(tenant, event, name="Arena", grouped=True, quantity=2_000_000_000, capacity=capacity)
    response = tenant.guest.post(PURCHASE, json=guest_purchase(tenant, event, [(table, 2)]))
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["type"] == "too_many_seats"
    assert counters(event, table)["held"] == 0 and counters(event, table)["sold"] == 0
    assert tenant.guest.post(PURCHASE, json=guest_purchase(tenant, event, [(table, 1)])).status_code == 201
    if capacity is not None:   # two billion held, two billion more asked: sold out, not a counter overflow
        again = tenant.guest.post(PURCHASE, json=guest_purchase(tenant, event, [(table, 1)]))
        assert again.status_code == 409 and again.get_json()["type"] == "sold_out", again.get_json()

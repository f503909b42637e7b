"""Storefront pricing through purchase: merch, promotions, taxes, gift cards, claims and their release, orders."""

from __future__ import annotations

import datetime as dt

from test_purchase_support import age_booking, guest_purchase, iso, make_event, make_type

from core import db as database
from core.models import Booking
from core.services import holds
from plugins.storefront import rules
from plugins.storefront.models import GiftCard, Order, Promotion, Variant

PURCHASE = "/client/events/tickets/purchase"
CHECKOUT = "/client/store/checkout"


def _setup(tenant, price="50.00", capacity=100):
    tenant.enable("storefront")
    event = make_event(tenant)
    return event, make_type(tenant, event, name="General", price=price, capacity=capacity)


def _promo(tenant, **body):
    response = tenant.staff.post("/storefront/promotions", json={"kind": "percentage", "value": 10, **body})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["data"]


def _card(tenant, amount="30.00"):
    return tenant.staff.post("/storefront/gift-cards", json={"amount": amount, "currency": "USD"}).get_json()["data"]


def _tee(tenant, stock=5, price="20.00"):
    body = {"name": "Tee", "productClass": "apparel",
            "variants": [{"name": "M", "price": price, "currency": "USD", "stock": stock}]}
    return tenant.staff.post("/storefront/products", json=body).get_json()["data"]["variants"][0]["id"]


def _row(model, **where):
    with database.db.connection_context():
        query = model.select()
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return query.get()


def _kinds(body) -> list[tuple[str, int]]:
    return [(line["kind"], line["total"]) for line in body["lines"]]


# --- pure rules ----------------------------------------------------------------------------------

def test_rules_allocate_and_round_without_losing_a_cent():
    assert rules.allocate(100, [1, 1, 1]) == [34, 33, 33]
    assert sum(rules.allocate(999, [3, 5, 7, 11])) == 999
    lines = [rules.PriceLine("a", "ticket", 2, 3333, ticket_type_id="t1"),
             rules.PriceLine("b", "merch", 1, 1001, product_class="apparel", variant_id="v1")]
    pct = rules.PromotionRule("percentage", 1250)
    assert rules.promotion_discounts(pct, lines) == {"a": 417, "b": 125}
    fixed = rules.PromotionRule("fixed", 10_000)
    assert sum(rules.promotion_discounts(fixed, lines).values()) == 4334  # never more than the goods
    items = rules.PromotionRule("percentage", 5000, scope="items", variant_ids=("v1",), min_quantity=2)
    assert rules.promotion_discounts(items, lines) is None
    vat = rules.TaxRule("VAT", 2000, inclusive=True)
    sales = rules.TaxRule("Sales", 825, inclusive=False, product_class="apparel")
    found = rules.taxes([vat, sales], lines, {"a": 417, "b": 125})
    assert [(t.base, t.amount) for t in found] == [(3792, 632), (876, 72)]
    assert rules.gift_card_split(5000, [3000, 4000, 100]) == [3000, 2000, 0]


# --- promotions ----------------------------------------------------------------------------------

def test_percentage_promotion_then_exclusive_tax_then_gift_card(tenant):
    event, tt = _setup(tenant)
    _promo(tenant, code="Early10")
    tenant.staff.post("/storefront/tax-rates", json={"name": "Sales tax", "rate": 8, "inclusive": False})
    card = _card(tenant, "30.00")
    response = tenant.guest.post(PURCHASE, json=guest_purchase(
        tenant, event, [(tt, 2)], promoCode=f"early10, {card['code']}"))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    # 2 x 50 = 100; -10 % = 90; +8 % tax = 7.20 -> 97.20; gift card pays 30 -> 67.20 to the gateway
    assert _kinds(body) == [("ticket", 10000), ("discount", -1000), ("tax", 720), ("gift_card", -3000)]
    assert body["amount"] == 6720 and body["status"] == "pending"
    assert _row(GiftCard, id=card["id"]).balance == 0
    assert _row(Promotion, code_key="EARLY10").used == 1
    order = _row(Order, booking_id=body["bookingId"])
    assert order.status == "pending" and order.total == 6720 and order.paid_by_gift_card == 3000
    # the gift card's code is a bearer secret: the booking keeps only the promotion code
    from core.models import Booking

    assert _row(Booking, id=body["bookingId"]).promo_code == "EARLY10"


def test_inclusive_tax_is_shown_not_added_and_item_scope_fixed_discount(tenant):
    event, tt = _setup(tenant)
    vip = make_type(tenant, event, name="VIP", price="100.00")
    tenant.staff.post("/storefront/tax-rates", json={"name": "VAT", "rate": 20, "inclusive": True})
    _promo(tenant, code="VIPFIVE", kind="fixed", value="5.00", currency="USD", scope="items", ticketTypeIds=[vip],
           minQuantity=2)
    body = tenant.guest.post(PURCHASE, json=guest_purchase(tenant, event, [(tt, 1), (vip, 2)],
                                                           promoCode="vipfive")).get_json()
    assert _kinds(body)[:3] == [("ticket", 5000), ("ticket", 20000), ("discount", -500)]
    assert body["lines"][3]["kind"] == "tax_included" and body["lines"][3]["total"] == 0
    assert "40.83 USD" in body["lines"][3]["name"]  # 20/120 of 245.00
    assert body["amount"] == 24500
    too_few = tenant.guest.post(PURCHASE, json=guest_purchase(tenant, event, [(vip, 1)], promoCode="VIPFIVE"))
    assert too_few.status_code == 422 and too_few.get_json()["type"] == "invalid_promo_code"


def test_unknown_expired_or_future_code_is_422_and_holds_nothing(tenant):
    event, tt = _setup(tenant, capacity=5)
    _promo(tenant, code="OLD", startsAt=iso(-dt.timedelta(days=3)), endsAt=iso(-dt.timedelta(days=1)))
    _promo(tenant, code="SOON", startsAt=iso(dt.timedelta(days=1)))
    _promo(tenant, code="GONE", archived=True)
    for code in ("NOPE", "OLD", "SOON", "GONE", "GC-AAAA-BBBB-CCCC", "A B"):
        response = tenant.guest.post(PURCHASE, json=guest_purchase(tenant, event, [(tt, 2)], promoCode=code))
        assert response.status_code == 422, (code, response.get_json())
        assert response.get_json()["type"] == "invalid_promo_code", code
    with database.db.connection_context():
        from core.models import Booking, TicketType

        assert TicketType.get_by_id(tt).held == 0
        assert Booking.select().where(Booking.event == event).count() == 0
        assert Order.select().where(Order.org == tenant.orgid).count() == 0


def test_usage_limits_total_and_per_customer_and_release_on_expiry(tenant):
    event, tt = _setup(tenant)
    _promo(tenant, code="TWICE", usageLimit=2, usageLimitPerCustomer=1)
    fan = tenant.customer()
    first = fan.post(PURCHASE, json={"eventId": event, "items": [{"ticketTypeId": tt, "quantity": 1}],
                                     "promoCode": "TWICE"})
    assert first.status_code == 201, first.get_json()
    again = fan.post(PURCHASE, json={"eventId": event, "items": [{"ticketTypeId": tt, "quantity": 1}],
                                     "promoCode": "TWICE"})
    assert again.status_code == 422 and again.get_json()["reason"] == "usage_limit_per_customer"
    guest = tenant.guest.post(PURCHASE, json=guest_purchase(tenant, event, [(tt, 1)], promoCode="TWICE"))
    assert guest.status_code == 201
    used_up = tenant.guest.post(PURCHASE, json={**guest_purchase(tenant, event, [(tt, 1)], promoCode="TWICE"),
                                                "email": "other@example.com"})
    assert used_up.status_code == 422 and used_up.get_json()["reason"] == "usage_limit"
    # the hold runs out: the use goes back (once, however often expiry is attempted)
    age_booking(first.get_json()["bookingId"])
    with database.db.connection_context():
        assert holds.expire_overdue(tenant.orgid) == 1
        assert holds.expire_overdue(tenant.orgid) == 0
    assert _row(Promotion, code_key="TWICE").used == 1
    assert _row(Order, booking_id=first.get_json()["bookingId"]).status == "cancelled"
    retry = fan.post(PURCHASE, json={"eventId": event, "items": [{"ticketTypeId": tt, "quantity": 1}],
                                     "promoCode": "twice"})
    assert retry.status_code == 201, retry.get_json()


def test_cancelled_pending_booking_is_released_by_reconcile(tenant):
    from plugins.storefront.orders import reconcile

    event, tt = _setup(tenant)
    _promo(tenant, code="ONCE", usageLimit=1)
    card = _card(tenant, "10.00")
    body = tenant.guest.post(PURCHASE, json=guest_purchase(tenant, event, [(tt, 1)],
                                                           promoCode=f"ONCE {card['code']}")).get_json()
    cancelled = tenant.staff.post(f"/events/bookings/{body['bookingId']}/cancel", json={})
    assert cancelled.status_code == 200, cancelled.get_json()
    with database.db.connection_context():
        assert reconcile() >= 1
    assert _row(Promotion, code_key="ONCE").used == 0
    assert _row(GiftCard, id=card["id"]).balance == 1000
    assert _row(Order, booking_id=body["bookingId"]).status == "cancelled"


# --- gift cards ----------------------------------------------------------------------------------

def test_gift_card_covering_everything_confirms_at_once(tenant):
    event, tt = _setup(tenant, price="20.00")
    card = _card(tenant, "50.00")
    body = tenant.guest.post(PURCHASE, json=guest_purchase(tenant, event, [(tt, 1)],
                                                           promoCode=card["code"])).get_json()
    assert body["amount"] == 0 and body["status"] == "confirmed" and len(body["tickets"]) == 1
    assert _row(GiftCard, id=card["id"]).balance == 3000
    assert _row(Order, booking_id=body["bookingId"]).status == "paid"
    voided = _card(tenant, "5.00")
    tenant.staff.post(f"/storefront/gift-cards/{voided['id']}/void")
    refused = tenant.guest.post(PURCHASE, json=guest_purchase(tenant, event, [(tt, 1)], promoCode=voided["code"]))
    assert refused.status_code == 422 and refused.get_json()["type"] == "invalid_promo_code"


# --- merchandise, order history and refunds -------------------------------------------------------

def test_merch_beside_tickets_one_booking_one_payment_then_history_and_refund(tenant):
    event, tt = _setup(tenant, price="40.00")
    tee = _tee(tenant, stock=3)
    tenant.staff.post("/storefront/tax-rates", json={"name": "Apparel tax", "rate": 10, "productClass": "apparel"})
    card = _card(tenant, "10.00")
    _promo(tenant, code="ALL5", kind="fixed", value="6.00", currency="USD")
    fan = tenant.customer()
    response = fan.post(CHECKOUT, json={"eventId": event, "items": [{"ticketTypeId": tt, "quantity": 2}],
                                        "merch": [{"variantId": tee, "quantity": 2}],
                                        "promoCode": f"ALL5,{card['code']}", "paymentGateway": "offline"})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    # tickets 80 + tees 40 = 120; -6 split 4/2 -> tee net 38, tax 3.80; 117.80 - 10 card = 107.80
    assert _kinds(body) == [("ticket", 8000), ("merch", 4000), ("discount", -600), ("tax", 380),
                            ("gift_card", -1000)]
    assert body["amount"] == 10780
    assert _row(Variant, id=tee).held == 2
    paid = tenant.staff.post(f"/events/bookings/{body['bookingId']}/mark-paid", json={"reference": "cash"})
    assert paid.status_code == 200, paid.get_json()
    variant = _row(Variant, id=tee)
    assert (variant.held, variant.sold) == (0, 2)

    history = fan.get("/client/store/orders").get_json()["data"]
    assert len(history) == 1 and history[0]["status"] == "paid"
    assert [(line["kind"], line["quantity"]) for line in history[0]["lines"]][:2] == [("ticket", 2), ("merch", 2)]
    assert tenant.customer().get("/client/store/orders").get_json()["data"] == []  # only one's own orders

    ticket_id = paid.get_json()["tickets"][0]["id"]
    partial = tenant.staff.post(f"/events/tickets/{ticket_id}/refund", json={})
    assert partial.status_code == 200, partial.get_json()
    order = fan.get("/client/store/orders").get_json()["data"][0]
    assert order["status"] == "partially_refunded"
    assert order["lines"][0]["refundedQuantity"] == 1 and order["lines"][0]["refundedAmount"] == 4000
    assert _row(GiftCard, id=card["id"]).balance == 0 and _row(Promotion, code_key="ALL5").used == 1

    rest = tenant.staff.post(f"/events/bookings/{body['bookingId']}/refund", json={})
    assert rest.status_code == 200, rest.get_json()
    order = fan.get("/client/store/orders").get_json()["data"][0]
    assert order["status"] == "refunded" and order["refundedAmount"] == 10780 + 1000
    assert [line["refundedQuantity"] for line in order["lines"][:2]] == [2, 2]
    assert _row(GiftCard, id=card["id"]).balance == 1000
    assert _row(Promotion, code_key="ALL5").used == 0
    assert (_row(Variant, id=tee).sold, _row(Variant, id=tee).held) == (0, 0)
    staff_view = tenant.staff.get(f"/storefront/orders?email={fan.email}").get_json()["data"]
    assert [o["status"] for o in staff_view] == ["refunded"]
    one = fan.get(f"/client/store/orders/{order['id']}").get_json()["data"]
    assert one["bookingId"] == body["bookingId"] and one["status"] == "refunded"
    assert tenant.staff.get(f"/storefront/orders/{body['bookingId']}").get_json()["data"]["id"] == order["id"]
    stranger = tenant.customer().get(f"/client/store/orders/{order['id']}")
    assert stranger.status_code == 404 and stranger.get_json()["type"] == "order_not_found"


def test_merch_stock_and_window_are_checked(tenant, other_tenant):
    event, tt = _setup(tenant)
    tee = _tee(tenant, stock=1)
    other_tenant.enable("storefront")
    their_tee = _tee(other_tenant, stock=5)
    body = {"eventId": event, "email": "a@example.com", "name": "A", "items": [{"ticketTypeId": tt, "quantity": 1}]}
    too_many = tenant.guest.post(CHECKOUT, json={**body, "merch": [{"variantId": tee, "quantity": 2}]})
    assert too_many.status_code == 409 and too_many.get_json()["type"] == "sold_out"
    unknown = tenant.guest.post(CHECKOUT, json={**body, "merch": [{"variantId": "nope", "quantity": 1}]})
    assert unknown.status_code == 404 and unknown.get_json()["type"] == "variant_not_found"
    theirs = tenant.guest.post(CHECKOUT, json={**body, "merch": [{"variantId": their_tee, "quantity": 1}]})
    assert theirs.status_code == 404 and theirs.get_json()["type"] == "variant_not_found"
    assert _row(Variant, id=their_tee).held == 0  # refused before anything was held
    ticket_variant = _row(Variant, ticket_type_id=tt).id
    as_merch = tenant.guest.post(CHECKOUT, json={**body, "merch": [{"variantId": ticket_variant, "quantity": 1}]})
    assert as_merch.status_code == 404
    one = tenant.guest.post(CHECKOUT, json={**body, "merch": [{"variantId": tee, "quantity": 1}]})
    assert one.status_code == 201, one.get_json()
    gone = tenant.guest.post(CHECKOUT, json={**body, "merch": [{"variantId": tee, "quantity": 1}]})
    assert gone.status_code == 409 and gone.get_json()["type"] == "sold_out"
    age_booking(one.get_json()["bookingId"])
    with database.db.connection_context():
        holds.expire_overdue(tenant.orgid)
    assert _row(Variant, id=tee).held == 0
    assert tenant.guest.post(CHECKOUT, json={**body, "merch": [{"variantId": tee, "quantity": 1}]}).status_code == 201


def test_disabled_plugin_prices_nothing(tenant):
    event = make_event(tenant)
    tt = make_type(tenant, event, price="10.00")
    body = tenant.guest.post(PURCHASE, json=guest_purchase(tenant, event, [(tt, 1)])).get_json()
    assert body["amount"] == 1000 and _kinds(body) == [("ticket", 1000)]
    assert tenant.guest.post(CHECKOUT, json=guest_purchase(tenant, event, [(tt, 1)])).status_code == 404


def test_late_payment_after_expiry_takes_the_claims_back(tenant):
    event, tt = _setup(tenant, price="20.00")
    tee = _tee(tenant, stock=2, price="5.00")
    _promo(tenant, code="LATE", usageLimit=3)
    card = _card(tenant, "4.00")
    purchase = guest_purchase(tenant, event, [(tt, 1)], promoCode=f"LATE {card['code']}")
    body = tenant.guest.post(CHECKOUT, json={**purchase, "merch": [{"variantId": tee, "quantity": 1}]}).get_json()
    age_booking(body["bookingId"])
    with database.db.connection_context():
        assert holds.expire_overdue(tenant.orgid) == 1
    assert _row(Promotion, code_key="LATE").used == 0 and _row(GiftCard, id=card["id"]).balance == 400
    assert _row(Variant, id=tee).held == 0
    paid = tenant.staff.post(f"/events/bookings/{body['bookingId']}/mark-paid", json={"reference": "late"})
    assert paid.status_code == 200 and paid.get_json()["status"] == "confirmed", paid.get_json()
    assert _row(Order, booking_id=body["bookingId"]).status == "paid"
    assert _row(Promotion, code_key="LATE").used == 1 and _row(GiftCard, id=card["id"]).balance == 0
    assert (_row(Variant, id=tee).held, _row(Variant, id=tee).sold) == (0, 1)


def test_cancelling_a_paid_booking_frees_its_promotion_use(tenant):
    event, tt = _setup(tenant, price="20.00")
    _promo(tenant, code="CXL", usageLimit=1)
    body = tenant.guest.post(PURCHASE, json=guest_purchase(tenant, event, [(tt, 2)], promoCode="CXL")).get_json()
    assert tenant.staff.post(f"/events/bookings/{body['bookingId']}/mark-paid", json={}).status_code == 200
    assert _row(Order, booking_id=body["bookingId"]).status == "paid"
    cancelled = tenant.staff.post(f"/events/bookings/{body['bookingId']}/cancel", json={})
    assert cancelled.status_code == 200, cancelled.get_json()
    assert _row(Order, booking_id=body["bookingId"]).status == "cancelled"
    assert _row(Promotion, code_key="CXL").used == 0


def test_money_only_refund_is_followed_by_reconcile(tenant):
    from plugins.storefront.orders import reconcile

    event, tt = _setup(tenant, price="20.00")
    _promo(tenant, code="MONEY", usageLimit=1)
    body = tenant.guest.post(PURCHASE, json=guest_purchase(tenant, event, [(tt, 1)], promoCode="MONEY")).get_json()
    paid = tenant.staff.post(f"/events/bookings/{body['bookingId']}/mark-paid", json={}).get_json()
    first = tenant.staff.post(f"/events/tickets/{paid['tickets'][0]['id']}/refund", json={"amount": "5.00"})
    assert first.status_code == 200, first.get_json()
    assert _row(Order, booking_id=body["bookingId"]).status == "partially_refunded"
    rest = tenant.staff.post(f"/events/bookings/{body['bookingId']}/refund", json={})
    assert rest.status_code == 200, rest.get_json()
    with database.db.connection_context():
        assert reconcile() >= 1
        assert reconcile() == 0
    order = _row(Order, booking_id=body["bookingId"])
    assert order.status == "refunded" and order.refunded_amount == 1800
    assert _row(Promotion, code_key="MONEY").used == 0


def test_a_merch_line_beyond_a_money_column_is_422_even_when_a_discount_brings_the_total_back(tenant):
    event, tt = _setup(tenant, price="0.00")
    tee = _tee(tenant, stock=None, price="20000000.00")
    _promo(tenant, code="ALLFREE", value=100)
    body = {"eventId": event, "items": [{"ticketTypeId": tt, "quantity": 1}],
            "merch": [{"variantId": tee, "quantity": 2}], "promoCode": "ALLFREE", "paymentGateway": "offline"}
    response = tenant.customer().post(CHECKOUT, json=body)
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["type"] == "amount_too_large"
    with database.db.connection_context():
        assert Order.select().where(Order.event_id == event).count() == 0 and _row(Variant, id=tee).held == 0
        assert Booking.select().where(Booking.event_id == event).count() == 0


def test_gift_cards_paying_more_than_a_money_column_holds_is_422_and_takes_nothing(tenant):
    event, tt = _setup(tenant, price="0.00")
    tees = [_tee(tenant, stock=None, price="20000000.00") for _ in range(2)]
    cards = [_card(tenant, "20000000.00") for _ in range(2)]
    response = tenant.customer().post(CHECKOUT, json={
        "eventId": event, "items": [{"ticketTypeId": tt, "quantity": 1}], "paymentGateway": "offline",
        "merch": [{"variantId": tee, "quantity": 1} for tee in tees],
        "promoCode": ",".join(card["code"] for card in cards)})
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["type"] == "amount_too_large"
    assert [_row(GiftCard, id=card["id"]).balance for card in cards] == [2_000_000_000] * 2
    with database.db.connection_context():
        assert Booking.select().where(Booking.event_id == event).count() == 0

"""Storefront races over real HTTP: a promotion's usage limit, a gift card's balance and merch stock never overdraw."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import requests
from test_purchase_support import counters, make_event, make_type

from core import db as database
from plugins.storefront.models import GiftCard, GiftCardRedemption, Promotion, PromotionUse, Variant

PURCHASE = "/client/events/tickets/purchase"
CHECKOUT = "/client/store/checkout"


def _buy(server, tenant, i: int, event: str, tt: str, path: str = PURCHASE, **extra):
    body = {"eventId": event, "email": f"buyer{i}@example.com", "name": f"Buyer {i}",
            "items": [{"ticketTypeId": tt, "quantity": 1}], **extra}
    return requests.post(server.url + path, json=body, headers={"orgid": tenant.orgid}, timeout=60)


def _run(count, fn_, workers=24):
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(fn_, range(count)))


def _setup(tenant):
    tenant.enable("storefront")
    event = make_event(tenant)
    return event, make_type(tenant, event, price="10.00", capacity=500)


def test_promotion_usage_limit_is_never_overdrawn(live_server, tenant):
    event, tt = _setup(tenant)
    tenant.staff.post("/storefront/promotions", json={"code": "FIVE", "kind": "percentage", "value": 50,
                                                      "usageLimit": 5})
    answers = _run(40, lambda i: _buy(live_server, tenant, i, event, tt, promoCode="FIVE"))
    won = [a for a in answers if a.status_code == 201]
    assert len(won) == 5, [a.status_code for a in answers]
    assert all(a.status_code == 422 and a.json()["type"] == "invalid_promo_code" for a in answers if a not in won)
    with database.db.connection_context():
        promotion = Promotion.get(Promotion.org == tenant.orgid)
        assert promotion.used == 5
        assert PromotionUse.select().where(PromotionUse.promotion == promotion.id).count() == 5
    assert counters(event, tt)["held"] == 5  # refused purchases held nothing


def test_gift_card_balance_is_never_overdrawn(live_server, tenant):
    event, tt = _setup(tenant)
    card = tenant.staff.post("/storefront/gift-cards", json={"amount": "35.00", "currency": "USD"}).get_json()["data"]
    answers = _run(30, lambda i: _buy(live_server, tenant, i, event, tt, promoCode=card["code"]))
    assert all(a.status_code in (201, 409, 422) for a in answers), [a.status_code for a in answers]
    with database.db.connection_context():
        stored = GiftCard.get_by_id(card["id"])
        redeemed = sum(r.amount for r in GiftCardRedemption.select().where(GiftCardRedemption.card == card["id"]))
        assert stored.balance >= 0 and stored.balance + redeemed == 3500
        assert redeemed == 3500  # 3 full tickets and one half: the card is used up exactly
    paid_by_card = sum(1000 - a.json()["amount"] for a in answers if a.status_code == 201)
    assert paid_by_card == 3500
    booked = counters(event, tt)
    assert booked["held"] + booked["sold"] == sum(a.status_code == 201 for a in answers)


def test_merch_stock_is_never_oversold(live_server, tenant):
    event, tt = _setup(tenant)
    tee = tenant.staff.post("/storefront/products", json={
        "name": "Tee", "variants": [{"price": "5", "currency": "USD", "stock": 4}]}).get_json()["data"]["variants"][0]
    answers = _run(30, lambda i: _buy(live_server, tenant, i, event, tt, CHECKOUT,
                                      merch=[{"variantId": tee["id"], "quantity": 1}]))
    assert sum(a.status_code == 201 for a in answers) == 4, [a.status_code for a in answers]
    with database.db.connection_context():
        variant = Variant.get_by_id(tee["id"])
        assert (variant.held, variant.sold) == (4, 0)


def test_per_customer_limit_holds_under_concurrency(live_server, tenant):
    event, tt = _setup(tenant)
    tenant.staff.post("/storefront/promotions", json={"code": "ONEEACH", "kind": "percentage", "value": 20,
                                                      "usageLimitPerCustomer": 1})
    fan = tenant.customer()

    def buy(i: int):
        body = {"eventId": event, "items": [{"ticketTypeId": tt, "quantity": 1}], "promoCode": "ONEEACH"}
        return requests.post(live_server.url + PURCHASE, json=body, timeout=60,
                             headers={"orgid": tenant.orgid, "Authorization": f"Bearer {fan.token}"})

    answers = _run(16, buy)
    assert sum(a.status_code == 201 for a in answers) == 1, [a.status_code for a in answers]
    assert {a.json()["type"] for a in answers if a.status_code != 201} == {"invalid_promo_code"}
    with database.db.connection_context():
        assert Promotion.get(Promotion.org == tenant.orgid).used == 1

"""Storefront catalog: ticket-type mirroring with live availability, backfill (job and CLI), staff API, isolation."""

from __future__ import annotations

import datetime as dt

from click.testing import CliRunner
from test_purchase_support import guest_purchase, iso, make_event, make_type

from core import db as database
from plugins.storefront.models import Product, Variant

PURCHASE = "/client/events/tickets/purchase"


def _variant_of(ticket_type_id: str) -> Variant | None:
    with database.db.connection_context():
        return Variant.get_or_none(Variant.ticket_type_id == ticket_type_id)


def _ticket_product(tenant, ticket_type_id: str) -> dict:
    products = tenant.staff.get("/storefront/products?kind=ticket&includeArchived=true").get_json()["data"]
    return next(p for p in products if p["variants"][0]["ticketTypeId"] == ticket_type_id)


def test_routes_answer_404_until_enabled(tenant):
    response = tenant.staff.get("/storefront/products")
    assert response.status_code == 404 and response.get_json()["type"] == "plugin_not_enabled"
    tenant.enable("storefront")
    assert tenant.staff.get("/storefront/products").status_code == 200


def test_ticket_type_is_mirrored_and_follows_changes(tenant):
    tenant.enable("storefront")
    event = make_event(tenant, capacity=50)
    tt = make_type(tenant, event, name="General", price="20.00", capacity=10, saleEnd=iso(dt.timedelta(days=20)))
    product = _ticket_product(tenant, tt)
    variant = product["variants"][0]
    assert product["kind"] == "ticket" and product["name"] == "General" and product["productClass"] == "ticket"
    assert variant["price"]["amount"] == 2000 and variant["stock"] == 10 and variant["available"] == 10
    assert variant["saleEnd"] is not None

    changed = tenant.staff.patch(f"/events/ticket-types/{tt}",
                                 json={"name": "Standing", "price": "25.00", "capacity": 8, "saleEnd": None})
    assert changed.status_code == 200, changed.get_json()
    product = _ticket_product(tenant, tt)
    assert product["name"] == "Standing"
    assert product["variants"][0]["price"]["amount"] == 2500 and product["variants"][0]["stock"] == 8
    assert product["variants"][0]["saleEnd"] is None

    # availability is read live from the ticket type: a hold shows at once, no copy is kept
    held = tenant.guest.post(PURCHASE, json=guest_purchase(tenant, event, [(tt, 3)]))
    assert held.status_code == 201, held.get_json()
    assert _ticket_product(tenant, tt)["variants"][0]["available"] == 5
    assert _variant_of(tt).held == 0

    # mirrored fields cannot be edited through the storefront
    variant_id = product["variants"][0]["id"]
    refused = tenant.staff.patch(f"/storefront/variants/{variant_id}", json={"price": "1.00", "currency": "USD"})
    assert refused.status_code == 409 and refused.get_json()["type"] == "mirrored_variant"
    reclass = tenant.staff.patch(f"/storefront/products/{product['id']}", json={"productClass": "admission"})
    assert reclass.status_code == 200 and reclass.get_json()["data"]["productClass"] == "admission"
    renamed = tenant.staff.patch(f"/storefront/products/{product['id']}", json={"name": "x"})
    assert renamed.status_code == 409 and renamed.get_json()["type"] == "mirrored_product"


def test_deleted_ticket_type_archives_its_variant(tenant):
    tenant.enable("storefront")
    event = make_event(tenant)
    tt = make_type(tenant, event)
    assert tenant.staff.delete(f"/events/ticket-types/{tt}").status_code in (200, 204)
    variant = _variant_of(tt)
    assert variant.archived
    with database.db.connection_context():
        assert Product.get_by_id(variant.product_id).archived


def test_backfill_job_mirrors_existing_ticket_types_with_progress(tenant):
    event = make_event(tenant)
    types = [make_type(tenant, event, name=f"T{i}") for i in range(3)]
    assert all(_variant_of(tt) is None for tt in types)
    tenant.enable("storefront")
    started = tenant.staff.post("/storefront/backfill")
    assert started.status_code == 202, started.get_json()
    job_id = started.get_json()["jobId"]
    job = tenant.staff.get(f"/storefront/jobs/{job_id}").get_json()
    assert job["status"] == "done" and job["progress"] == {"done": 3, "total": 3}
    assert all(_variant_of(tt) is not None for tt in types)
    # running it again changes nothing (idempotent)
    tenant.staff.post("/storefront/backfill")
    with database.db.connection_context():
        assert Variant.select().where(Variant.ticket_type_id.in_(types)).count() == 3


def test_backfill_cli_shows_progress(app, tenant):
    from core.cli import cli as main
    from core.plugins import get_host

    if "storefront" not in main.commands:
        get_host().pm.hook.register_commands(cli=main)
    event = make_event(tenant)
    tt = make_type(tenant, event)
    result = CliRunner().invoke(main, ["storefront", "backfill", tenant.orgid])
    assert result.exit_code == 0, result.output
    assert "1 ticket type(s) mirrored" in result.output
    assert _variant_of(tt) is not None
    unknown = CliRunner().invoke(main, ["storefront", "backfill", "no-such-org"])
    assert unknown.exit_code != 0 and "No organisation" in unknown.output


def test_staff_manage_merch_products(tenant):
    tenant.enable("storefront")
    body = {"name": "Tour tee", "kind": "merch", "productClass": "apparel",
            "variants": [{"name": "M", "price": "25.00", "currency": "USD", "stock": 10},
                         {"name": "L", "price": "25.00", "currency": "usd", "stock": None}]}
    created = tenant.staff.post("/storefront/products", json=body)
    assert created.status_code == 201, created.get_json()
    product = created.get_json()["data"]
    assert [v["price"]["amount"] for v in product["variants"]] == [2500, 2500]
    assert [v["available"] for v in product["variants"]] == [10, None]
    added = tenant.staff.post(f"/storefront/products/{product['id']}/variants",
                              json={"name": "XL", "price": "27.50", "currency": "USD", "stock": 2})
    assert added.status_code == 201 and added.get_json()["data"]["price"]["amount"] == 2750
    patched = tenant.staff.patch(f"/storefront/variants/{added.get_json()['data']['id']}", json={"stock": 5})
    assert patched.get_json()["data"]["available"] == 5
    assert tenant.guest.get("/client/store/products").get_json()["data"][0]["name"] == "Tour tee"
    archived = tenant.staff.delete(f"/storefront/products/{product['id']}")
    assert archived.status_code == 200 and archived.get_json()["data"]["archived"] is True
    assert tenant.guest.get("/client/store/products").get_json()["data"] == []


def test_bad_input_is_4xx_json_never_500(tenant):
    tenant.enable("storefront")
    cases = [
        ("/storefront/products", {"name": "x", "variants": [{"price": "1.001", "currency": "USD"}]}),
        ("/storefront/products", {"name": "x", "variants": [{"price": "1", "currency": "XXX"}]}),
        ("/storefront/products", {"name": "x", "variants": [{"price": "NaN", "currency": "USD"}]}),
        ("/storefront/products", {"name": "x", "variants": [{"price": "-1", "currency": "USD"}]}),
        ("/storefront/products", {"name": "x", "kind": "ticket", "variants": [{"price": "1", "currency": "USD"}]}),
        ("/storefront/products", {"name": "x", "variants": []}),
        ("/storefront/promotions", {"code": "X", "kind": "percentage", "value": 150}),
        ("/storefront/promotions", {"code": "X", "kind": "fixed", "value": 5}),
        ("/storefront/promotions", {"code": "GC-NOPE", "kind": "percentage", "value": 5}),
        ("/storefront/promotions", {"code": "bad code", "kind": "percentage", "value": 5}),
        ("/storefront/promotions", {"code": "X", "kind": "percentage", "value": 5, "scope": "items"}),
        ("/storefront/tax-rates", {"name": "VAT", "rate": "abc"}),
        ("/storefront/tax-rates", {"name": "VAT", "rate": 0}),
        ("/storefront/gift-cards", {"amount": 0, "currency": "USD"}),
        ("/storefront/gift-cards", {"amount": 10, "currency": "ZZZ"}),
        ("/storefront/gift-cards", {"amount": 10, "currency": "USD", "expiresAt": "2030-01-01T00:00:00"}),
    ]
    for path, body in cases:
        response = tenant.staff.post(path, json=body)
        assert response.status_code in (400, 409, 422), (path, body, response.status_code, response.get_json())
        assert response.get_json()["type"], (path, body)
    assert tenant.guest.post("/storefront/products", json=cases[0][1]).status_code == 401
    assert tenant.customer().get("/storefront/promotions").status_code == 403
    assert tenant.staff.get("/storefront/products/nope").get_json()["type"] == "product_not_found"


def test_a_tax_rate_out_of_range_is_refused_naming_rate(tenant):
    """Found by the OpenAPI fuzzer: the 422 named `value` (the promotion field), not the tax rate's `rate`."""
    tenant.enable("storefront")
    refused = tenant.staff.post("/storefront/tax-rates", json={"name": "VAT", "rate": 415})
    assert refused.status_code == 422
    assert list(refused.get_json()["errors"]) == ["rate"]
    rate = tenant.staff.post("/storefront/tax-rates", json={"name": "VAT", "rate": 20}).get_json()["data"]
    patched = tenant.staff.patch(f"/storefront/tax-rates/{rate['id']}", json={"rate": "7.255"})
    assert patched.status_code == 422
    assert list(patched.get_json()["errors"]) == ["rate"]
    promotion = tenant.staff.post("/storefront/promotions", json={"code": "X", "kind": "percentage", "value": 150})
    assert list(promotion.get_json()["errors"]) == ["value"]


def test_other_tenants_records_are_404(tenant, other_tenant):
    tenant.enable("storefront")
    other_tenant.enable("storefront")
    product = tenant.staff.post("/storefront/products", json={
        "name": "Mug", "variants": [{"price": "9", "currency": "USD"}]}).get_json()["data"]
    promo = tenant.staff.post("/storefront/promotions",
                              json={"code": "MINE", "kind": "percentage", "value": 10}).get_json()["data"]
    card = tenant.staff.post("/storefront/gift-cards", json={"amount": 10, "currency": "USD"}).get_json()["data"]
    rate = tenant.staff.post("/storefront/tax-rates", json={"name": "VAT", "rate": 20}).get_json()["data"]
    job = tenant.staff.post("/storefront/backfill").get_json()
    for path in (f"/storefront/products/{product['id']}", f"/storefront/variants/{product['variants'][0]['id']}",
                 f"/storefront/promotions/{promo['id']}", f"/storefront/gift-cards/{card['id']}",
                 f"/storefront/jobs/{job['jobId']}"):
        assert other_tenant.staff.get(path).status_code == 404, path
    assert other_tenant.staff.patch(f"/storefront/tax-rates/{rate['id']}", json={"rate": 5}).status_code == 404
    assert other_tenant.staff.post(f"/storefront/gift-cards/{card['id']}/void").status_code == 404
    # the same promotion code may exist in another tenant; a code is unique per tenant, case-insensitively
    assert other_tenant.staff.post("/storefront/promotions",
                                   json={"code": "mine", "kind": "percentage", "value": 5}).status_code == 201
    duplicate = tenant.staff.post("/storefront/promotions", json={"code": "mine", "kind": "percentage", "value": 5})
    assert duplicate.status_code == 409 and duplicate.get_json()["type"] == "duplicate_code"


def test_gift_card_issue_balance_void(tenant):
    tenant.enable("storefront")
    issued = tenant.staff.post("/storefront/gift-cards", json={"amount": "50.00", "currency": "USD", "note": "VIP"})
    assert issued.status_code == 201
    card = issued.get_json()["data"]
    assert card["code"].startswith("GC-") and card["balance"]["amount"] == 5000 and card["last4"] == card["code"][-4:]
    shown = tenant.staff.get(f"/storefront/gift-cards/{card['id']}").get_json()["data"]
    assert "code" not in shown and shown["balance"]["amount"] == 5000
    listed = tenant.staff.get("/storefront/gift-cards").get_json()
    assert [c["id"] for c in listed["data"]] == [card["id"]] and "code" not in listed["data"][0]
    balance = tenant.guest.post("/client/store/gift-cards/balance", json={"code": card["code"].lower()})
    assert balance.status_code == 200 and balance.get_json()["balance"]["amount"] == 5000
    with database.db.connection_context():
        from plugins.storefront.models import GiftCard

        stored = GiftCard.get_by_id(card["id"])
        assert card["code"] not in (stored.code_hash, stored.note) and len(stored.code_hash) == 64
    assert tenant.staff.post(f"/storefront/gift-cards/{card['id']}/void").get_json()["data"]["voided"] is True
    again = tenant.staff.post(f"/storefront/gift-cards/{card['id']}/void")
    assert again.status_code == 409 and again.get_json()["type"] == "already_voided"
    gone = tenant.guest.post("/client/store/gift-cards/balance", json={"code": card["code"]})
    assert gone.status_code == 422 and gone.get_json()["type"] == "invalid_promo_code"


def test_openapi_documents_every_storefront_route(app):
    spec = app.test_client().get("/openapi.json").get_json()
    paths = {p: ops for p, ops in spec["paths"].items() if p.startswith(("/storefront", "/client/store"))}
    assert len(paths) >= 14
    for path, ops in paths.items():
        for method, op in ops.items():
            if method == "parameters":
                continue
            assert op.get("summary") or op.get("description"), (path, method)
            success = {code: r for code, r in op["responses"].items() if code in ("200", "201", "202")}
            assert success, (path, method)
            assert all("content" in r for r in success.values()), (path, method)


def test_product_lists_are_cursor_paged(tenant):
    tenant.enable("storefront")
    for name in ("A", "B", "C"):
        tenant.staff.post("/storefront/products", json={"name": name, "variants": [{"price": "1", "currency": "USD"}]})
    first = tenant.staff.get("/storefront/products?page[size]=2").get_json()
    assert [p["name"] for p in first["data"]] == ["C", "B"] and first["meta"]["page"]["next_cursor"]
    cursor = first["meta"]["page"]["next_cursor"]
    assert [p["name"] for p in tenant.guest.get(f"/client/store/products?page[size]=2&page[cursor]={cursor}")
            .get_json()["data"]] == ["A"]
    rest = tenant.staff.get(f"/storefront/products?page[size]=2&page[cursor]={cursor}")
    assert [p["name"] for p in rest.get_json()["data"]] == ["A"] and rest.get_json()["meta"]["page"]["last"]
    bad = tenant.staff.get("/storefront/products?page[cursor]=garbage")
    assert bad.status_code == 400 and bad.get_json()["type"] == "invalid_cursor"


def test_data_api_ticket_type_is_mirrored_as_001_says(tenant):
    tenant.enable("storefront")
    event = make_event(tenant)
    created = tenant.staff.post("/data/event_ticket_type/create", json={"data": {
        "event": event, "name": "General Admission", "price": 199, "currency": "USD", "capacity": 800}})
    assert created.status_code == 201, created.get_json()
    product = _ticket_product(tenant, created.get_json()["data"]["id"])
    assert product["name"] == "General Admission" and product["eventId"] == event
    assert product["variants"][0]["price"]["amount"] == 19900 and product["variants"][0]["available"] == 800


def test_promotion_ids_must_be_the_tenants_own_ticket_types_and_variants(tenant, other_tenant):
    tenant.enable("storefront")
    other_tenant.enable("storefront")
    mine_type = make_type(tenant, make_event(tenant), name="Mine")
    mine_variant = tenant.staff.post("/storefront/products", json={
        "name": "Mug", "variants": [{"price": "9", "currency": "USD"}]}).get_json()["data"]["variants"][0]["id"]
    theirs_type = make_type(other_tenant, make_event(other_tenant), name="Theirs")
    theirs_variant = other_tenant.staff.post("/storefront/products", json={
        "name": "Cap", "variants": [{"price": "5", "currency": "USD"}]}).get_json()["data"]["variants"][0]["id"]
    base = {"code": "ITEMS", "kind": "percentage", "value": 10, "scope": "items"}
    for field, bad, good in (("ticketTypeIds", theirs_type, mine_type), ("ticketTypeIds", "made-up", mine_type),
                             ("variantIds", theirs_variant, mine_variant), ("variantIds", "made-up", mine_variant)):
        refused = tenant.staff.post("/storefront/promotions", json={**base, field: [good, bad]})
        assert refused.status_code == 422, refused.get_json()
        body = refused.get_json()
        assert body["type"] == "unknown_ids" and body["errors"] == {field: [bad]} and repr(bad) in body["message"]
    assert tenant.staff.get("/storefront/promotions").get_json()["data"] == []  # nothing created

    created = tenant.staff.post("/storefront/promotions", json={**base, "ticketTypeIds": [mine_type, mine_type],
                                                                "variantIds": [mine_variant]})
    assert created.status_code == 201, created.get_json()
    promo = created.get_json()["data"]
    assert (promo["ticketTypeIds"], promo["variantIds"]) == ([mine_type], [mine_variant])
    patched = tenant.staff.patch(f"/storefront/promotions/{promo['id']}", json={"variantIds": [theirs_variant]})
    assert patched.status_code == 422 and patched.get_json()["errors"] == {"variantIds": [theirs_variant]}
    kept = tenant.staff.get(f"/storefront/promotions/{promo['id']}").get_json()["data"]
    assert kept["variantIds"] == [mine_variant]  # the refused PATCH changed nothing

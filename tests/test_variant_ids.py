"""003's registration type `variant_id`: the numeric id of the storefront variant a ticket type is mirrored to
(hook `ticket_type_variant_ids`), null for a tenant without the storefront plugin; storefront migration 2 gives
existing variants their ids."""

from __future__ import annotations

import datetime as dt

from conftest import make_tenant
from test_events import in_db, iso
from test_public_api_v2 import LIMIT, key_call, ok

from core import db as database
from tenants import service

START = dt.datetime(2031, 10, 27, 23, 30)


def make_events(tenant) -> None:
    """A date event with two registration types and a parent with two sessions, one type each."""
    ok(tenant.staff.post("/events", json={
        "name": "Gala", "starts_at": iso(START), "ends_at": iso(START + dt.timedelta(hours=2)),
        "registration_types": [{"name": "General", "price": 0, "currency": "AUD", "inventory": 40},
                               {"name": "VIP", "price": "70.50", "currency": "AUD", "inventory": 10}]}), 201)
    ok(tenant.staff.post("/events", json={
        "type": "parent", "name": "Tour", "starts_at": iso(START), "ends_at": iso(START + dt.timedelta(hours=5)),
        "sessions": [{"name": f"Session {n}", "starts_at": iso(START + dt.timedelta(hours=2 * n)),
                      "ends_at": iso(START + dt.timedelta(hours=2 * n + 1)),
                      "registration_types": [{"name": f"Session {n} GA", "price": 50, "inventory": 50}]}
                     for n in (0, 1)]}), 201)


def shown_variant_ids(tenant) -> dict[str, int | None]:
    """Registration type name -> `variant_id` in the v2 list, top-level events and their sessions."""
    events = ok(key_call(tenant, "GET", "/events?include=sessions,registration_types&page[size]=200"))["data"]
    found = {}
    for event in events + [s for e in events for s in e.get("sessions", [])]:
        found.update({rt["name"]: rt["variant_id"] for rt in event.get("registration_types", [])})
    return found


def storefront_public_ids(tenant) -> dict[str, int]:
    """Ticket variant name -> its `publicId`, as the storefront's staff API shows it."""
    products = ok(tenant.staff.get("/storefront/products?kind=ticket&includeArchived=true&page[size]=100"))["data"]
    return {v["name"]: v["publicId"] for p in products for v in p["variants"]}


def test_variant_id_is_the_mirrored_variants_numeric_id_and_stable(app):
    tenant = make_tenant(app, "Variant Org", plugins=("public_api_v2", "storefront"))
    make_events(tenant)
    mirrored = storefront_public_ids(tenant)
    assert set(mirrored) == {"General", "VIP", "Session 0 GA", "Session 1 GA"}
    ids = list(mirrored.values())
    assert len(set(ids)) == 4 and all(isinstance(i, int) and 0 < i < LIMIT for i in ids)

    first = shown_variant_ids(tenant)
    assert first == mirrored
    assert shown_variant_ids(tenant) == first  # stable across calls

    # a ticket type edited keeps its variant and id; one added later gets its own
    gala = ok(key_call(tenant, "GET", "/events?filter[name]=Gala&include=registration_types"))["data"][0]
    tiers = [{"id": rt["id"], "name": rt["name"]} for rt in gala["registration_types"]]
    tiers[0]["name"] = "General (renamed)"
    ok(key_call(tenant, "PATCH", f"/events/{gala['id']}", json={"event": {"registration_types": [
        *tiers, {"name": "Late", "price": 5, "inventory": 5}]}}))
    after = shown_variant_ids(tenant)
    renamed = next(rt["name"] for rt in gala["registration_types"] if rt["id"] == tiers[0]["id"])
    assert after["General (renamed)"] == first[renamed]
    assert after["Late"] == storefront_public_ids(tenant)["Late"] and after["Late"] not in ids

    # one event by id answers the same
    one = ok(key_call(tenant, "GET", f"/events/{gala['id']}?include=registration_types"))["data"]
    assert {rt["name"]: rt["variant_id"] for rt in one["registration_types"]} == {
        name: after[name] for name in ("General (renamed)", "VIP", "Late")}


def test_a_tenant_without_the_storefront_shows_null(app):
    without = make_tenant(app, "No Store Org", plugins=("public_api_v2",))
    make_events(without)
    shown = shown_variant_ids(without)
    assert len(shown) == 4 and set(shown.values()) == {None}

    # a tenant that turns the storefront off stops showing its variants' ids
    store = make_tenant(app, "Store Off Org", plugins=("public_api_v2", "storefront"))
    make_events(store)
    assert None not in shown_variant_ids(store).values()
    in_db(service.set_plugin_enabled, store.orgid, "storefront", False)
    assert set(shown_variant_ids(store).values()) == {None}


def test_migration_backfills_variants_without_an_id_and_restores_the_unique_index(app):
    from plugins.storefront import register_migrations
    from plugins.storefront.models import Variant

    tenant = make_tenant(app, "Backfill Org", plugins=("public_api_v2", "storefront"))
    make_events(tenant)
    [migration] = register_migrations()
    assert (migration.component, migration.version) == ("storefront", 2)
    with database.db.connection_context():
        kept = Variant.select().where(Variant.org == tenant.orgid).order_by(Variant.id).first()
        database.db.execute_sql("DROP INDEX storefront_variant_public_id")
        Variant.update(public_id=None).where((Variant.org == tenant.orgid) & (Variant.id != kept.id)).execute()
        migration.apply()
        migration.apply()  # idempotent
        assert not Variant.select().where(Variant.public_id.is_null()).exists()
        indexes = {i.name: i for i in database.db.get_indexes("storefront_variant")}
        assert indexes["storefront_variant_public_id"].unique
        assert Variant.get_by_id(kept.id).public_id == kept.public_id
    mirrored = storefront_public_ids(tenant)
    assert len(set(mirrored.values())) == 4 and all(0 < i < LIMIT for i in mirrored.values())
    ordered = sorted(mirrored.values())
    assert max(b - a for a, b in zip(ordered, ordered[1:], strict=False)) > 1_000_000  # random, not a sequence
    assert shown_variant_ids(tenant) == mirrored

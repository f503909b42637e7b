"""The core's stable numeric ids (`core.models.public_id`, `core.kits.public_ids`, migration m0009): every insert
path stamps one, they are random, unique, below 2^53 and never change; a drawn id already taken is drawn again;
the migration backfills rows that have none; lookups both ways stay inside the tenant."""

from __future__ import annotations

import pytest

from core.db import db as database
from core.kits import public_ids
from core.models import Event, TicketType, Venue, new_id
from core.models import public_id as public_id_module
from core.services.statements import insert_rows

LIMIT = 2 ** 53


def recurring_body() -> dict:
    return {"type": "recurring", "name": "Weekly Tasting", "tz": "UTC",
            "starts_at": "2030-03-18T17:00:00Z", "ends_at": "2030-03-18T19:00:00Z",
            "registration_types": [{"name": "GA", "price": 10, "inventory": 20}],
            "recurrences": [{"starts_at": "2030-03-18T17:00:00Z", "ends_at": "2030-04-10T00:00:00Z",
                             "ends": "on_date", "repeat_unit": "week", "days": ["monday", "wednesday"]}]}


def rows_of(model, org_id: str) -> list[tuple[str, int]]:
    return list(model.select(model.id, model.public_id).where(model.org == org_id).tuples())


def assert_random_ids(pairs: list[tuple[str, int]], at_least: int) -> None:
    ids = [p for _, p in pairs]
    assert len(ids) >= at_least and len(set(ids)) == len(ids)
    assert all(isinstance(i, int) and 0 < i < LIMIT for i in ids)
    ordered = sorted(ids)
    assert all(b - a > 1 for a, b in zip(ordered, ordered[1:], strict=False))  # never a run of neighbours


def test_every_insert_path_stamps_a_public_id_that_never_changes(tenant):
    staff = tenant.staff
    venue = staff.post("/venues", json={"name": "Hall"}).get_json()["data"]
    parent = staff.post("/events", json={
        "type": "parent", "name": "Tour", "venue_id": venue["id"], "starts_at": "2030-01-01T10:00:00Z",
        "ends_at": "2030-01-01T20:00:00Z",
        "sessions": [{"name": f"S{n}", "starts_at": "2030-01-01T10:00:00Z", "ends_at": "2030-01-01T11:00:00Z",
                      "registration_types": [{"name": "GA", "price": 5}]} for n in range(3)]}).get_json()["data"]
    recurring = staff.post("/events", json=recurring_body())
    assert recurring.status_code == 201, recurring.get_json()
    with database.connection_context():
        events_before = rows_of(Event, tenant.orgid)
        types_before = rows_of(TicketType, tenant.orgid)
        assert_random_ids(events_before, 1 + 3 + 1 + 7)      # parent, sessions, template, generated dates
        assert_random_ids(types_before, 3 + 1 + 7)           # session types, template type, copies per date
        assert_random_ids(rows_of(Venue, tenant.orgid), 1)
        # compiled-statement inserts (core.services.statements) draw one too
        insert_rows(Venue, [{"id": new_id(), "org": tenant.orgid, "name": "Compiled"}])
        assert Venue.get(Venue.name == "Compiled", Venue.org == tenant.orgid).public_id > 0
    # edits keep them
    assert staff.patch(f"/events/{parent['id']}", json={"name": "Tour renamed", "capacity": 10}).status_code == 200
    assert staff.patch(f"/venues/{venue['id']}", json={"name": "Hall 2"}).status_code == 200
    with database.connection_context():
        assert dict(rows_of(Event, tenant.orgid)) == dict(events_before)
        assert dict(rows_of(TicketType, tenant.orgid)) == dict(types_before)


def test_a_drawn_id_already_taken_is_drawn_again(tenant, db, monkeypatch):
    taken = Venue.create(org=tenant.orgid, name="First").public_id
    draws = iter([taken, taken, 4242424242])
    monkeypatch.setattr(public_id_module, "random_public_id", lambda: next(draws))
    second = Venue(org=tenant.orgid, name="Second", public_id=taken)
    second.save(force_insert=True)
    assert Venue.get_by_id(second.id).public_id == 4242424242


def test_lookups_both_ways_stay_inside_the_tenant(tenant, other_tenant, db):
    mine = Venue.create(org=tenant.orgid, name="Mine")
    theirs = Venue.create(org=other_tenant.orgid, name="Theirs")
    assert public_ids.uuid_for(Venue, tenant.org, mine.public_id) == mine.id
    assert public_ids.public_ids_for(Venue, tenant.org, [mine.id, theirs.id]) == {mine.id: mine.public_id}
    assert public_ids.uuids_for(Venue, tenant.org, [mine.public_id, theirs.public_id, 0, LIMIT, True, "1"]) == {
        mine.public_id: mine.id}
    with pytest.raises(Exception) as caught:
        public_ids.uuid_for(Venue, tenant.org, theirs.public_id, "venue")
    assert caught.value.status == 404 and caught.value.type == "venue_not_found"


def test_migration_backfills_rows_without_an_id_and_restores_the_unique_index(tenant):
    from core.migrations import m0009_public_ids

    assert tenant.staff.post("/events", json=recurring_body()).status_code == 201
    with database.connection_context():
        migrate_and_check(m0009_public_ids, tenant)


def migrate_and_check(m0009_public_ids, tenant) -> None:
    kept = Venue.create(org=tenant.orgid, name="Kept")
    for model in m0009_public_ids.PUBLIC_ID_MODELS:
        database.execute_sql(f"DROP INDEX {model._meta.table_name}_public_id")
        model.update(public_id=None).where((model.org == tenant.orgid) & (model.id != kept.id)).execute()
    assert Event.select().where((Event.org == tenant.orgid) & Event.public_id.is_null()).count() >= 8
    m0009_public_ids.upgrade()
    m0009_public_ids.upgrade()  # idempotent
    for model in m0009_public_ids.PUBLIC_ID_MODELS:
        assert not model.select().where(model.public_id.is_null()).exists()
        indexes = {i.name: i for i in database.get_indexes(model._meta.table_name)}
        assert indexes[f"{model._meta.table_name}_public_id"].unique
        assert_random_ids(rows_of(model, tenant.orgid), 1)
    assert Venue.get_by_id(kept.id).public_id == kept.public_id

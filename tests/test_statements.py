"""Compiled statements (core.services.statements): rows inserted through them carry the timestamps `save()`
would write, and read back equal to what peewee reads."""

from __future__ import annotations

import datetime as dt

from core.models import Venue, new_id, utcnow
from core.services.statements import Slot, compile_query, insert_rows, instance

FIELDS = Venue._meta.sorted_fields


def test_inserted_rows_are_stamped_like_save_and_read_back_alike(tenant, db):
    stamped = {"id": new_id(), "org": tenant.orgid, "name": "Hall", "capacity": 120}
    kept_at = (utcnow() - dt.timedelta(days=1)).replace(microsecond=0)
    kept = {"id": new_id(), "org": tenant.orgid, "name": "Barn", "created_at": kept_at, "updated_at": kept_at}
    before = utcnow()
    with db.atomic():
        insert_rows(Venue, [stamped, kept])
    fresh = Venue.get_by_id(stamped["id"])
    assert before <= fresh.created_at == fresh.updated_at <= utcnow()
    assert stamped["created_at"] == fresh.created_at          # the caller's row says what was stored
    assert (fresh.tz, fresh.city, fresh.capacity) == ("UTC", "", 120)   # defaults as peewee's own INSERT
    old = Venue.get_by_id(kept["id"])
    assert old.created_at == kept_at and old.updated_at == kept_at
    by_id = (Venue.id == Slot("id")) & (Venue.org == Slot("org"))
    [row] = compile_query(Venue.select().where(by_id)).tuples(id=stamped["id"], org=tenant.orgid)
    built = instance(Venue, FIELDS, row)
    assert {f.name: getattr(built, f.name) for f in FIELDS} == {f.name: getattr(fresh, f.name) for f in FIELDS}

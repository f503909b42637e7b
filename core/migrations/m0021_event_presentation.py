"""Migration 21: event presentation fields: `event.location` (free text) and `event.cover` (the cover image and
its renditions), and the event slug made unique per tenant (it is the event's public page path); and
`booking.attendee_id` (the attendee a partner sale's tickets go to, chosen up front; null for every other booking).

Adds the two columns when missing (defaulted / nullable). Slugs that repeat within a tenant (generated dates of
a recurring event used to copy their template's) are made unique first: the oldest event keeps its slug, each
other one gets `-<first 8 characters of its id>` appended. Then the `(org_id, slug)` index is made unique.
Idempotent: a database that has the unique index already is left as it is.
"""

from peewee import fn
from playhouse.migrate import SchemaMigrator, migrate

from core.db import db
from core.migrations import ensure_columns
from core.models import Booking, Event

INDEX = "event_org_id_slug"


def _deduplicate_slugs() -> int:
    """Give every event whose slug another event of its tenant has (and is older) a unique one; returns how many."""
    repeated = (Event.select(Event.org, Event.slug).group_by(Event.org, Event.slug)
                .having(fn.COUNT(Event.id) > 1).tuples())
    changed = 0
    for org_id, slug in list(repeated):
        rows = list(Event.select(Event.id).where((Event.org == org_id) & (Event.slug == slug))
                    .order_by(Event.created_at, Event.id).tuples())
        for (event_id,) in rows[1:]:
            Event.update(slug=f"{slug[:300]}-{event_id[:8]}").where(Event.id == event_id).execute()
            changed += 1
    return changed


def upgrade() -> None:
    """Add `location`, `cover` and `booking.attendee_id`, make slugs unique per tenant, and make their index
    unique."""
    ensure_columns(Event, "location", "cover")
    ensure_columns(Booking, "attendee_id")
    indexes = {index.name: index for index in db.get_indexes("event")}
    if INDEX in indexes and indexes[INDEX].unique:
        return
    _deduplicate_slugs()
    migrator = SchemaMigrator.from_database(db.obj)
    operations = [migrator.drop_index("event", INDEX)] if INDEX in indexes else []
    operations.append(migrator.add_index("event", ("org_id", "slug"), unique=True))
    migrate(*operations)

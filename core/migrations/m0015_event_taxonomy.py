"""Migration 15: categories, tags, campaigns and calendars (`core.models.taxonomy`), their join tables with
events, and `event.calendar_id` / `event.permanent` with the indexes the events list filters on.

Creates what is missing (a fresh database already has it all from migration 1): the tables with their indexes
(`IF NOT EXISTS`), the two columns (nullable / defaulted) and the event table's two new indexes. Idempotent.
"""

from playhouse.migrate import SchemaMigrator, migrate

from core.db import db
from core.migrations import ensure_columns
from core.models import Calendar, Campaign, Category, Event, EventCampaign, EventCategory, EventTag, Tag

EVENT_INDEXES = (("org", "calendar_id", "starts_at", "id"), ("org", "permanent", "starts_at", "id"))


def upgrade() -> None:
    """Create the taxonomy tables; add the event's calendar and permanence columns and their indexes."""
    db.create_tables([Category, Tag, Campaign, Calendar, EventCategory, EventTag, EventCampaign], safe=True)
    ensure_columns(Event, "calendar_id", "permanent")
    existing = {index.name for index in db.get_indexes("event")}
    for names in EVENT_INDEXES:
        columns = tuple(Event._meta.fields[name].column_name for name in names)
        if "_".join(("event", *columns)) not in existing:
            migrate(SchemaMigrator.from_database(db.obj).add_index("event", columns, unique=False))

"""Migration 9: stable numeric `public_id`s for venues, events (sessions and recurrence dates included) and
ticket types (`core.models.public_id`).

Adds the column where missing, gives every existing row a random unused id (never sequential) and creates the
unique index. Idempotent: rows that already hold an id keep it.
"""

from playhouse.migrate import SchemaMigrator, migrate

from core.db import db
from core.migrations import ensure_columns
from core.models import Event, TicketType, Venue
from core.models.public_id import unused_public_ids

PUBLIC_ID_MODELS = (Venue, Event, TicketType)
BACKFILL_BATCH = 500


def backfill(model) -> int:
    """Give each row of `model` without a public id an unused one; returns how many rows got one."""
    done = 0
    while True:
        ids = [row[0] for row in model.select(model.id).where(model.public_id.is_null())
               .order_by(model.id).limit(BACKFILL_BATCH).tuples()]
        if not ids:
            return done
        for row_id, public_id in zip(ids, unused_public_ids(model, len(ids)), strict=True):
            model.update(public_id=public_id).where(model.id == row_id).execute()
        done += len(ids)


def upgrade() -> None:
    """Add, backfill and uniquely index `public_id` on venue, event and ticket_type."""
    for model in PUBLIC_ID_MODELS:
        ensure_columns(model, "public_id")
        backfill(model)
        table = model._meta.table_name
        index = f"{table}_public_id"
        if index not in {i.name for i in db.get_indexes(table)}:
            migrate(SchemaMigrator.from_database(db.obj).add_index(table, ("public_id",), unique=True))

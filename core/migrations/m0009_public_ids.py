"""Migration 9: stable numeric `public_id`s for venues, events (sessions and recurrence dates included) and
ticket types (`core.models.public_id`).

Adds the column where missing, gives every existing row a random unused id (never sequential) and creates the
unique index (`core.migrations.ensure_public_ids`). Idempotent: rows that already hold an id keep it.
"""

from core.migrations import backfill_public_ids, ensure_public_ids
from core.models import Event, TicketType, Venue

PUBLIC_ID_MODELS = (Venue, Event, TicketType)
backfill = backfill_public_ids  # the backfill alone, as later migrations (m0014) import it from here


def upgrade() -> None:
    """Add, backfill and uniquely index `public_id` on venue, event and ticket_type."""
    for model in PUBLIC_ID_MODELS:
        ensure_public_ids(model)

"""Migration 17: event lists (003's "Event lists"): `permanent_list`, `event_list`, `ticket_type.list_id`
and `ticket.list_id`, and a default list for every event that has none.

Creates the tables when missing (a fresh database already has them from migration 1), adds the nullable
columns (null: the event's default list) and backfills default lists in batches. Idempotent: an event that
already has its default list is skipped.
"""

from core.db import db
from core.migrations import ensure_columns
from core.models import EventList, PermanentList, Ticket, TicketType
from core.services.event_lists import backfill_default_lists


def upgrade() -> None:
    """Create the list tables, point ticket types and tickets at lists, give every event its default list."""
    db.create_tables([PermanentList, EventList], safe=True)
    ensure_columns(TicketType, "list_id")
    ensure_columns(Ticket, "list_id")
    backfill_default_lists()

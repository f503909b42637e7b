"""Migration 27: on-sale waiting rooms: `event.waiting_room_id` (the room a purchase of the event must pass; null
for every event without one) and the tables `waiting_room`, `queue_entry` and `queue_pass_use`.

Creates what is missing (a fresh database already has it all from migration 1): the nullable column and the
three tables with their indexes. Idempotent.
"""

from core.db import db
from core.migrations import ensure_columns
from core.models import Event, QueueEntry, QueuePassUse, WaitingRoom


def upgrade() -> None:
    """Add the event's room column and the room, queue entry and spent-pass tables."""
    ensure_columns(Event, "waiting_room_id")
    db.create_tables([WaitingRoom, QueueEntry, QueuePassUse], safe=True)

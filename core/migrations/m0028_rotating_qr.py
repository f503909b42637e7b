"""Migration 28: the rotating QR: `ticket_type.rotating_qr` (its tickets show a code that changes every 15 s;
false for every existing type) and `event.door_secret` (the event's sealed door secret, made on first use).

Adds the two columns when missing (a fresh database has them from migration 1). Idempotent.
"""

from core.migrations import ensure_columns
from core.models import Event, TicketType


def upgrade() -> None:
    """Add the ticket type's opt-in flag and the event's door secret column."""
    ensure_columns(TicketType, "rotating_qr")
    ensure_columns(Event, "door_secret")

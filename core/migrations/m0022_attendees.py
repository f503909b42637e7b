"""Migration 22: attendees as records (`attendee`) and `ticket.attendee_id` (nullable, indexed), backfilled.

Creates the table when missing (a fresh database already has it from migration 1), adds the column with its
index, and gives every issued ticket its holder's attendee (`core.services.attendees.backfill_attendees`:
one per e-mail or customer per tenant; unactivated pre-generated tickets get none). Idempotent.
"""

from core.db import db
from core.migrations import ensure_columns
from core.models import Attendee, Ticket
from core.services.attendees import backfill_attendees


def upgrade() -> None:
    """Create the attendee table, point tickets at attendees and backfill them."""
    db.create_tables([Attendee], safe=True)
    ensure_columns(Ticket, "attendee")
    backfill_attendees()

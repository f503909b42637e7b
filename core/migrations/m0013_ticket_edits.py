"""Migration 13: holder edits with a change fee: `ticket_type.editable`, `edit_fee`, `edit_minutes` and the
`ticket_edit` table.

Adds the columns with their defaults (existing ticket types are not editable, no fee, no window) and creates
the table when missing (a fresh database already has both from migration 1). Idempotent.
"""

from core.db import db
from core.migrations import ensure_columns
from core.models import TicketEdit, TicketType


def upgrade() -> None:
    """Add the edit columns to ticket types and create the ticket edit table."""
    ensure_columns(TicketType, "editable", "edit_fee", "edit_minutes")
    db.create_tables([TicketEdit], safe=True)

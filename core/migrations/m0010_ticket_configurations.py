"""Migration 10: reusable ticket configurations (003's "ticket type"): `ticket_configuration`,
`event_ticket_configuration` and `ticket_type.ticket_configuration_id`.

Creates the tables when missing (a fresh database already has them from migration 1) and adds the nullable
column; existing ticket types point at no configuration, which requires nothing of buyers. Idempotent.
"""

from core.db import db
from core.migrations import ensure_columns
from core.models import EventTicketConfiguration, TicketConfiguration, TicketType


def upgrade() -> None:
    """Create the configuration tables and link ticket types to them."""
    db.create_tables([TicketConfiguration, EventTicketConfiguration], safe=True)
    ensure_columns(TicketType, "configuration")

"""Migration 12: pickups (003): `pickup_type`, `ticket_type_pickup` (a registration type's pickups) and
`ticket_pickup` (what each issued ticket carries and when it was collected).

Creates the tables when missing (a fresh database already has them from migration 1); existing tickets and
ticket types carry no pickups. Idempotent.
"""

from core.db import db
from core.models import PickupType, TicketPickup, TicketTypePickup


def upgrade() -> None:
    """Create the pickup tables."""
    db.create_tables([PickupType, TicketTypePickup, TicketPickup], safe=True)

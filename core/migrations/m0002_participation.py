"""Migration 2: session participation tables (selections, invitations, per-session seat counters).

Creates tables only (idempotent, `safe=True`); never edits existing tables or data.
"""

from core.db import db


def upgrade() -> None:
    """Create the Participation and SessionSeats tables and their indexes when missing."""
    from core.models.participation import Participation, SessionSeats

    db.create_tables([SessionSeats, Participation], safe=True)

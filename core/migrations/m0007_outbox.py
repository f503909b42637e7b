"""Migration 7: the transactional outbox (`outbox_entry`), the side effects a committed change still owes.

Creates the table and its index when missing (a fresh database already has them from migration 1). Idempotent.
"""

from core.db import db
from core.models import OutboxEntry


def upgrade() -> None:
    """Create `outbox_entry` when it is missing."""
    db.create_tables([OutboxEntry], safe=True)

"""Migration 11: barcode pools (`barcode_pool_code`), the staff-uploaded codes of a ticket configuration.

Creates the table and its indexes when missing (a fresh database already has them from migration 1); a ticket
keeps the code it took in its `data` (`barcode`), so the ticket table does not change. Idempotent.
"""

from core.db import db
from core.models import BarcodePoolCode


def upgrade() -> None:
    """Create the barcode pool table."""
    db.create_tables([BarcodePoolCode], safe=True)

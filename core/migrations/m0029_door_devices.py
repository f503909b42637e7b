"""Migration 29: door devices and offline scans: the tables `door_device` (a scanner's credential for one event)
and `door_conflict` (offline admissions beyond a ticket's limit), and the scan log's `scan_id`, `device_id` and
`scanned_at` columns with the partial unique index that makes an upload idempotent per scan id.

Creates what is missing (a fresh database already has it all from migration 1). Idempotent.
"""

from core.db import db
from core.migrations import ensure_columns
from core.models import CheckIn, DoorConflict, DoorDevice
from core.models.sales import SCAN_ID_INDEX


def upgrade() -> None:
    """Add the scan log's offline columns and index, and the device and conflict tables."""
    ensure_columns(CheckIn, "scan_id", "device_id", "scanned_at")
    table = CheckIn._meta.table_name
    if "checkin_org_scan_id" not in {index.name for index in db.get_indexes(table)}:
        db.execute(SCAN_ID_INDEX)
    db.create_tables([DoorDevice, DoorConflict], safe=True)

"""Migration 4: on PostgreSQL the scan log (`check_in`) keeps no foreign keys and no `org_id` index.

The log is append-only and written by the door's one statement, which copies `org_id`, `ticket_id` and
`event_id` from the ticket row it admits or refuses, so its references are right by construction. Its foreign
keys cost every scan a locked read of the org, event and ticket rows (`FOR KEY SHARE`, about a fifth of the
statement's database time), and since every scan of a door shares the same org and event rows, concurrent
scans queued on one MultiXact lock. Nothing reads the log by org alone. The rows of a deleted event go with
it (`checkin.forget_scans`); tickets are never deleted. SQLite keeps its constraints: dropping one rebuilds
the table, and its checks take no locks. Idempotent.
"""

from core.db import db, is_sqlite


def upgrade() -> None:
    """Drop the scan log's foreign-key constraints and its `org_id` index (PostgreSQL only)."""
    if is_sqlite():
        return
    rows = db.execute_sql("SELECT conname FROM pg_constraint WHERE conrelid = 'check_in'::regclass "
                          "AND contype = 'f'").fetchall()
    for (name,) in rows:
        db.execute_sql(f'ALTER TABLE "check_in" DROP CONSTRAINT IF EXISTS "{name}"')
    db.execute_sql('DROP INDEX IF EXISTS "check_in_org_id"')

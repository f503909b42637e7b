"""Migration 3: let a door scan update a ticket without touching its indexes.

The ticket's (org, event, status) index becomes (org, event): a check-in changes `status`, and an indexed
column that changes forces PostgreSQL to add an entry to every index of the table. The redundant single
`org_id` index goes (the (org, ...) indexes serve it). On PostgreSQL the table also keeps 20% of each page
free (fillfactor 80), so the updated row version fits on its page: a HOT update. Idempotent.
"""

from core.db import db, is_sqlite


def upgrade() -> None:
    """Swap the ticket indexes and, on PostgreSQL, set the ticket table's fillfactor."""
    db.execute_sql('DROP INDEX IF EXISTS "ticket_org_id_event_id_status"')
    db.execute_sql('DROP INDEX IF EXISTS "ticket_org_id"')
    db.execute_sql('CREATE INDEX IF NOT EXISTS "ticket_org_id_event_id" ON "ticket" ("org_id", "event_id")')
    if not is_sqlite():
        db.execute_sql('ALTER TABLE "ticket" SET (fillfactor = 80)')

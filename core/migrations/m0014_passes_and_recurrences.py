"""Migration 14: 003 passes and complete recurrences.

- `recurrence.public_id`: stable numeric ids for recurrence rules, added, backfilled and uniquely indexed the
  way migration 9 did it for venues, events and ticket types;
- `ticket_type.admits_every_session`: a pass made through 003's `passes` is admitted at every session of its
  parent without its holder choosing sessions (false for every existing ticket type: nothing changes for them);
- `pass_admission`: each such pass's admissions per session. On PostgreSQL it keeps no foreign keys and no
  `org_id` index, like the scan log (migration 4): a scan must not lock rows every scan of a door shares.

Idempotent: columns and tables are created only when missing, rows that hold an id keep it.
"""

from playhouse.migrate import SchemaMigrator, migrate

from core.db import db, is_sqlite
from core.migrations import ensure_columns
from core.migrations.m0009_public_ids import backfill
from core.models import PassAdmission, Recurrence, TicketType


def _unique_public_id_index(model) -> None:
    table = model._meta.table_name
    if f"{table}_public_id" not in {i.name for i in db.get_indexes(table)}:
        migrate(SchemaMigrator.from_database(db.obj).add_index(table, ("public_id",), unique=True))


def _without_foreign_keys(table: str) -> None:
    if is_sqlite():
        return
    rows = db.execute_sql("SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'f'",
                          (table,)).fetchall()
    for (name,) in rows:
        db.execute_sql(f'ALTER TABLE "{table}" DROP CONSTRAINT IF EXISTS "{name}"')
    db.execute_sql(f'DROP INDEX IF EXISTS "{table}_org_id"')


def upgrade() -> None:
    """Public ids for recurrence rules, the pass column on ticket types and the pass admission table."""
    ensure_columns(Recurrence, "public_id")
    backfill(Recurrence)
    _unique_public_id_index(Recurrence)
    ensure_columns(TicketType, "admits_every_session")
    db.create_tables([PassAdmission], safe=True)
    _without_foreign_keys(PassAdmission._meta.table_name)

"""Migration 26: the audit log (`audit_entry`), append-only in the database too: triggers refuse every UPDATE
and DELETE of its rows on SQLite and PostgreSQL.

Creates the table when missing (a fresh database already has it from migration 1) and (re)creates the
triggers. Idempotent.
"""

from core.db import db, is_sqlite
from core.models import AuditEntry

MESSAGE = "audit_entry rows are append-only"

SQLITE_TRIGGERS = [
    f"CREATE TRIGGER IF NOT EXISTS audit_entry_no_{verb.lower()} BEFORE {verb} ON audit_entry "
    f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
    for verb in ("UPDATE", "DELETE")
]

POSTGRES_STATEMENTS = [
    "CREATE OR REPLACE FUNCTION audit_entry_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
    f"BEGIN RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'insufficient_privilege'; END $$",
    "DROP TRIGGER IF EXISTS audit_entry_append_only ON audit_entry",
    "CREATE TRIGGER audit_entry_append_only BEFORE UPDATE OR DELETE ON audit_entry "
    "FOR EACH ROW EXECUTE FUNCTION audit_entry_append_only()",
    "DROP TRIGGER IF EXISTS audit_entry_no_truncate ON audit_entry",
    "CREATE TRIGGER audit_entry_no_truncate BEFORE TRUNCATE ON audit_entry "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_entry_append_only()",
]


def upgrade() -> None:
    """Create the audit table and the triggers that keep its rows from being changed or deleted."""
    db.create_tables([AuditEntry], safe=True)
    for statement in SQLITE_TRIGGERS if is_sqlite() else POSTGRES_STATEMENTS:
        db.execute_sql(statement)

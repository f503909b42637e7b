"""Migration 23: customers' usernames and the officer flag (`customer.username`, `username_key` with its unique
index per tenant, `customer.officer`), the note of a scan-log entry (`check_in.note`) and the hostnames tenants
are served at (`tenant_domain`).

Creates what is missing (a fresh database already has it all from migration 1): nullable or defaulted columns,
the unique index (NULLs never collide, so existing accounts without a username are fine) and the table.
Idempotent.
"""

from playhouse.migrate import SchemaMigrator, migrate

from core.db import db
from core.migrations import ensure_columns
from core.models import CheckIn, Customer, TenantDomain

USERNAME_INDEX = "customer_org_id_username_key"


def upgrade() -> None:
    """Add the username, officer and note columns, the per-tenant username index and the domain table."""
    ensure_columns(Customer, "username", "username_key", "officer")
    ensure_columns(CheckIn, "note")
    if USERNAME_INDEX not in {index.name for index in db.get_indexes("customer")}:
        migrate(SchemaMigrator.from_database(db.obj).add_index("customer", ("org_id", "username_key"), unique=True))
    db.create_tables([TenantDomain], safe=True)

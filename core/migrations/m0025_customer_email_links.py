"""Migration 25: customers' e-mail verification (`customer.email_verified_at`) and the single-use links e-mailed
to them for a password reset, an e-mail verification or an e-mail change (`account_link`).

Creates what is missing (a fresh database already has both from migration 1): a nullable column (existing
accounts start unverified) and the table with its indexes. Idempotent.
"""

from core.db import db
from core.migrations import ensure_columns
from core.models import AccountLink, Customer


def upgrade() -> None:
    """Add the verification column and the account link table."""
    ensure_columns(Customer, "email_verified_at")
    db.create_tables([AccountLink], safe=True)

"""Migration 20: store credit (`store_credit`, `store_credit_debit`): a buyer's credit per tenant, granted by
a store-credit refund and spent at checkout.

Creates the tables when missing (a fresh database already has them from migration 1). Idempotent.
"""

from core.db import db
from core.models import StoreCredit, StoreCreditDebit


def upgrade() -> None:
    """Create the store credit ledger tables."""
    db.create_tables([StoreCredit, StoreCreditDebit], safe=True)

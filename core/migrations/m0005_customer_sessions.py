"""Migration 5: customers' `sessions_valid_after`, the moment before which their tokens are refused.

Added as a nullable column (every existing token stays live). Idempotent.
"""

from core.migrations import ensure_columns
from core.models import Customer


def upgrade() -> None:
    """Add `customer.sessions_valid_after` when it is missing."""
    ensure_columns(Customer, "sessions_valid_after")

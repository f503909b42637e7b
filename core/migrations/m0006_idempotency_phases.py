"""Migration 6: an idempotency key's running `attempt` and its `recovery_point` / `recovery_data`.

Added as nullable columns (a stored answer needs none of them; a key still running when upgraded is taken
over as before). Idempotent.
"""

from core.migrations import ensure_columns
from core.models import IdempotencyRecord


def upgrade() -> None:
    """Add `attempt`, `recovery_point` and `recovery_data` to the idempotency records when missing."""
    ensure_columns(IdempotencyRecord, "attempt", "recovery_point", "recovery_data")

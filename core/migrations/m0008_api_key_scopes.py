"""Migration 8: API keys' `scopes` and `last_used_at`.

Every existing key (the demo tenant's included) gets all scopes, so it keeps doing what it did; `last_used_at`
starts empty. Idempotent.
"""

from core.api_keys import ALL_SCOPES_TEXT
from core.migrations import ensure_columns
from core.models import ApiKey


def upgrade() -> None:
    """Add `api_key.scopes` (all scopes for existing keys) and `api_key.last_used_at` when missing."""
    ensure_columns(ApiKey, "scopes", "last_used_at")
    ApiKey.update(scopes=ALL_SCOPES_TEXT).where(ApiKey.scopes.is_null() | (ApiKey.scopes == "")).execute()

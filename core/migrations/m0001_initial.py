"""Migration 1: the initial core schema (tenants, catalog, sales).

Later schema changes go in new mNNNN_*.py modules using playhouse.migrate; never edit a released one.
"""

from core.db import db


def upgrade() -> None:
    """Create every core table and index."""
    from core.models import CORE_MODELS

    db.create_tables(CORE_MODELS, safe=True)

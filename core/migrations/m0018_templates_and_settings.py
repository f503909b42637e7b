"""Migration 18: templates (PDF ticket designs, ticket e-mails, door tallies) and event settings
(`core.models.templates`), and `event.setting_id`.

Creates the tables when missing (a fresh database already has them from migration 1) and adds the nullable
column (null: the built-in templates). Idempotent.
"""

from core.db import db
from core.migrations import ensure_columns
from core.models import Event, EventSetting, Template


def upgrade() -> None:
    """Create the template and event-setting tables; point events at settings."""
    db.create_tables([Template, EventSetting], safe=True)
    ensure_columns(Event, "setting_id")

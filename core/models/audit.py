"""The audit log's table: one row per staff action that changed money, seats or access, by whom, from where.

Append-only: rows are inserted by `core.services.audit.record` and never updated or deleted (this model refuses
it, and migration 26 installs database triggers that refuse it too).
"""

from __future__ import annotations

from peewee import CharField, ForeignKeyField

from core.models.base import BaseModel, DateTimeField, JSONField, utcnow
from core.models.tenant import Org


class AppendOnly(TypeError):
    """Raised for any attempt to change or remove an audit row through the model."""


class AuditEntry(BaseModel):
    """What happened (`action` on `record_type`/`record_id`, `before`/`after` the fields that changed), when
    (`created_at`), who (`actor_kind`, `actor_id`, `actor_label`) and from where (`address`, `request_id`)."""

    org = ForeignKeyField(Org, column_name="org_id", on_delete="CASCADE")
    created_at = DateTimeField(default=utcnow)
    actor_kind = CharField(max_length=16)
    actor_id = CharField(max_length=200)
    actor_label = CharField(max_length=254)
    action = CharField(max_length=64)
    record_type = CharField(max_length=32)
    record_id = CharField(max_length=255)
    before = JSONField(null=True)
    after = JSONField(null=True)
    address = CharField(max_length=64, null=True)
    request_id = CharField(max_length=128, null=True)

    class Meta:
        table_name = "audit_entry"
        indexes = (
            (("org", "created_at", "id"), False),
            (("org", "record_type", "record_id"), False),
            (("org", "actor_id"), False),
            (("org", "action"), False),
        )

    def save(self, *args, **kwargs):
        """Only a new row is written (`force_insert`); saving an existing one raises `AppendOnly`."""
        if not kwargs.get("force_insert"):
            raise AppendOnly("Audit entries are append-only; they are never saved again.")
        return super().save(*args, **kwargs)

    def delete_instance(self, *args, **kwargs):
        """Refused: audit entries are never deleted."""
        raise AppendOnly("Audit entries are append-only; they are never deleted.")

    @classmethod
    def update(cls, *args, **kwargs):
        """Refused: audit entries are never updated."""
        raise AppendOnly("Audit entries are append-only; they are never updated.")

    @classmethod
    def delete(cls):
        """Refused: audit entries are never deleted."""
        raise AppendOnly("Audit entries are append-only; they are never deleted.")

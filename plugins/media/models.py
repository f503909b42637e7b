"""The media plugin's tables: gallery items, token-invited guests and each tenant's storage usage.

Columns only; rules (quota, visibility, tokens) live in `plugins.media.service`. Never stores a guest token.
"""

from __future__ import annotations

from peewee import BigIntegerField, BooleanField, CharField, DateTimeField, IntegerField, TextField

from core.models import Customer, Event, Org, TenantModel
from core.models.base import ForeignKeyField


class MediaGuest(TenantModel):
    """Someone without an account invited by staff to upload to one event's gallery with a token."""

    event = ForeignKeyField(Event, column_name="event_id", on_delete="CASCADE")
    name = CharField(max_length=200)
    email = CharField(max_length=254, default="")
    token_hash = CharField(max_length=64, unique=True)
    expires_at = DateTimeField(null=True)
    created_by = CharField(max_length=254, default="")

    class Meta:
        indexes = ((("org", "event", "created_at"), False),)


class MediaItem(TenantModel):
    """One uploaded photo: a metadata-free original plus, once the job ran, a thumbnail."""

    event = ForeignKeyField(Event, column_name="event_id", on_delete="CASCADE")
    uploader_kind = CharField(max_length=16)
    customer = ForeignKeyField(Customer, null=True, column_name="customer_id", on_delete="SET NULL")
    guest = ForeignKeyField(MediaGuest, null=True, column_name="guest_id", on_delete="SET NULL")
    uploaded_by = CharField(max_length=200, default="")
    caption = TextField(default="")
    content_type = CharField(max_length=64)
    width = IntegerField()
    height = IntegerField()
    size_bytes = BigIntegerField()
    storage_key = CharField(max_length=300)
    thumb_key = CharField(max_length=300)
    thumbnail_ready = BooleanField(default=False)
    hidden = BooleanField(default=False)
    hidden_at = DateTimeField(null=True)

    class Meta:
        indexes = (
            (("org", "event", "created_at", "id"), False),
            (("org", "guest", "created_at"), False),
        )


class MediaUsage(TenantModel):
    """Bytes of original files a tenant stores; changed only by conditional UPDATEs against its quota."""

    org = ForeignKeyField(Org, column_name="org_id", on_delete="CASCADE", unique=True)
    used_bytes = BigIntegerField(default=0)


MEDIA_MODELS = [MediaGuest, MediaItem, MediaUsage]

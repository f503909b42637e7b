"""Event lists (003's "Event lists"): each event's guest lists, and the tenant-wide permanent lists they may
reference.

Columns only; the rules (one default list per event, sanitised descriptions, images) live in
`core.services.event_lists`.
"""

from __future__ import annotations

from peewee import BooleanField, CharField, TextField

from core.models.base import ForeignKeyField, JSONField
from core.models.catalog import Event, PublicIdModel


class PermanentList(PublicIdModel):
    """A tenant-wide list reused across events (a standing guest list, a membership): only a name and a
    description; event lists point at it through `EventList.permanent_list`."""

    name = CharField(max_length=200)
    description = TextField(default="")

    class Meta:
        indexes = ((("org", "name", "id"), False),)


class EventList(PublicIdModel):
    """A guest list of one event. Each event has exactly one `is_default` list, made with the event; staff add
    more (hospitality groups, sub-promotions). `description` is sanitised HTML; `image` describes the stored
    image and its renditions (`{"key", "content_type", "width", "height", "renditions": {name: {...}}}`), or
    is null. Ticket types and tickets point at a list by `list_id` (null: the event's default list)."""

    event = ForeignKeyField(Event, column_name="event_id", on_delete="CASCADE")
    name = CharField(max_length=200)
    description = TextField(default="")
    is_default = BooleanField(default=False)
    permanent_list = ForeignKeyField(PermanentList, null=True, column_name="permanent_list_id",
                                     on_delete="RESTRICT")
    image = JSONField(null=True)

    class Meta:
        indexes = (
            (("org", "event", "name", "id"), False),
            (("org", "event", "is_default"), False),
            (("org", "permanent_list"), False),
        )

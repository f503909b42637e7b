"""How a tenant groups its events: categories, tags, marketing campaigns and calendars, and the join tables
that attach the first three to events (an event names its calendar in `Event.calendar_id`).

Columns only; the rules (unique tag names, active campaigns, attaching) live in `core.services.taxonomy` and
`core.services.event_taxonomy`.
"""

from __future__ import annotations

from peewee import CharField, IntegerField, TextField

from core.models.base import DateTimeField, ForeignKeyField
from core.models.catalog import Event, PublicIdModel
from core.models.tenant import TenantModel


class Category(PublicIdModel):
    """An event category ("Concerts", "Workshops"); listed by `position`, then name."""

    name = CharField(max_length=200)
    description = TextField(default="")
    position = IntegerField(default=0)

    class Meta:
        indexes = ((("org", "position", "name", "id"), False),)


class Tag(PublicIdModel):
    """A free-form tag; `name_key` (the name case-folded) is unique per tenant."""

    name = CharField(max_length=100)
    name_key = CharField(max_length=100)

    class Meta:
        indexes = ((("org", "name_key"), True),)


class Campaign(PublicIdModel):
    """A marketing campaign, active from `starts_at` (null: always was) until `ends_at` (null: never ends)."""

    name = CharField(max_length=200)
    description = TextField(default="")
    starts_at = DateTimeField(null=True)
    ends_at = DateTimeField(null=True)

    class Meta:
        indexes = ((("org", "name"), False),)


class Calendar(PublicIdModel):
    """A calendar events are published on (an event names at most one: `Event.calendar_id`)."""

    name = CharField(max_length=200)
    description = TextField(default="")
    color = CharField(max_length=7, null=True)

    class Meta:
        indexes = ((("org", "name"), False),)


class EventCategory(TenantModel):
    """A category attached to an event."""

    event = ForeignKeyField(Event, column_name="event_id", on_delete="CASCADE")
    category = ForeignKeyField(Category, column_name="category_id", on_delete="CASCADE")

    class Meta:
        indexes = ((("org", "event", "category"), True), (("org", "category", "event"), False))


class EventTag(TenantModel):
    """A tag attached to an event."""

    event = ForeignKeyField(Event, column_name="event_id", on_delete="CASCADE")
    tag = ForeignKeyField(Tag, column_name="tag_id", on_delete="CASCADE")

    class Meta:
        indexes = ((("org", "event", "tag"), True), (("org", "tag", "event"), False))


class EventCampaign(TenantModel):
    """A campaign attached to an event."""

    event = ForeignKeyField(Event, column_name="event_id", on_delete="CASCADE")
    campaign = ForeignKeyField(Campaign, column_name="campaign_id", on_delete="CASCADE")

    class Meta:
        indexes = ((("org", "event", "campaign"), True), (("org", "campaign", "event"), False))

"""The API shapes of categories, tags, campaigns and calendars: their request bodies and JSON views, shared by
their own routes and the event views that include them. Parses and renders only; never queries.
"""

from __future__ import annotations

import datetime as dt

from marshmallow import fields, validate

from core.api_schema import Schema
from core.services.taxonomy import is_active
from core.timefmt import iso_utc

_NAME = {"validate": validate.Length(min=1, max=200)}


def _stamps(record) -> dict:
    return {"created_at": iso_utc(record.created_at), "updated_at": iso_utc(record.updated_at)}


def category_view(category) -> dict:
    """The JSON form of a category."""
    return {"id": category.id, "name": category.name, "description": category.description,
            "position": category.position, **_stamps(category)}


def tag_view(tag) -> dict:
    """The JSON form of a tag."""
    return {"id": tag.id, "name": tag.name, **_stamps(tag)}


def campaign_view(campaign, now: dt.datetime) -> dict:
    """The JSON form of a campaign; `active` says whether it runs at `now`."""
    return {"id": campaign.id, "name": campaign.name, "description": campaign.description,
            "starts_at": iso_utc(campaign.starts_at), "ends_at": iso_utc(campaign.ends_at),
            "active": is_active(campaign, now), **_stamps(campaign)}


def calendar_view(calendar) -> dict:
    """The JSON form of a calendar."""
    return {"id": calendar.id, "name": calendar.name, "description": calendar.description,
            "color": calendar.color, **_stamps(calendar)}


# --- bodies -------------------------------------------------------------------------------------------------


class CategoryBody(Schema):
    """A category."""

    name = fields.String(required=True, **_NAME)
    description = fields.String(validate=validate.Length(max=5000))
    position = fields.Integer(metadata={"description": "Lists sort by position, then name (default 0)."})


class TagBody(Schema):
    """A tag; its name is unique in the organisation, case ignored (409 `tag_exists`)."""

    name = fields.String(required=True, validate=validate.Length(min=1, max=100))


class CampaignBody(Schema):
    """A marketing campaign, active from `starts_at` until `ends_at`."""

    name = fields.String(required=True, **_NAME)
    description = fields.String(validate=validate.Length(max=5000))
    starts_at = fields.DateTime(allow_none=True, metadata={"description": "ISO 8601 (UTC without an offset); "
                                                                          "null: active from the start."})
    ends_at = fields.DateTime(allow_none=True, metadata={"description": "After starts_at; null: never ends."})


class CalendarBody(Schema):
    """A calendar events are published on."""

    name = fields.String(required=True, **_NAME)
    description = fields.String(validate=validate.Length(max=5000))
    color = fields.String(allow_none=True, validate=validate.Length(equal=7),
                          metadata={"description": "A hex colour such as #1e88e5."})


# --- views ---------------------------------------------------------------------------------------------------


class _Stamped(Schema):
    id = fields.String()
    created_at = fields.String()
    updated_at = fields.String()


class CategoryView(_Stamped):
    """A category."""

    name = fields.String()
    description = fields.String()
    position = fields.Integer()


class TagView(_Stamped):
    """A tag."""

    name = fields.String()


class CampaignView(_Stamped):
    """A campaign."""

    name = fields.String()
    description = fields.String()
    starts_at = fields.String(allow_none=True)
    ends_at = fields.String(allow_none=True)
    active = fields.Boolean(metadata={"description": "Whether it runs now (starts_at <= now < ends_at)."})


class CalendarView(_Stamped):
    """A calendar."""

    name = fields.String()
    description = fields.String()
    color = fields.String(allow_none=True)

"""Marshmallow fields the API's response schemas share (how a value is written in JSON).

Only formats values for output; never reads the database or the request.
"""

from __future__ import annotations

from marshmallow import fields

from core.timefmt import iso_utc


class UtcTime(fields.String):
    """A UTC datetime written as ISO 8601 with `Z` (null stays null)."""

    def _serialize(self, value, attr, obj, **kwargs):
        return iso_utc(value)

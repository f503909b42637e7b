"""Time handling: UTC storage, IANA timezone checks, and 003's {tz, local, utc} rendering.

Stored datetimes are naive UTC; conversion to local time happens only when rendering.
"""

from __future__ import annotations

import datetime as dt
import functools
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

_ZONES: set[str] | None = None


def is_timezone(name: str) -> bool:
    """True for a valid IANA timezone name such as 'Europe/Paris' or 'UTC'."""
    global _ZONES
    if not isinstance(name, str) or not name or len(name) > 64:
        return False
    if _ZONES is None:
        _ZONES = set(available_timezones()) | {"UTC"}
    if name in _ZONES:
        return True
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def to_utc_naive(value: dt.datetime) -> dt.datetime:
    """An aware datetime to naive UTC (naive input is taken to be UTC already)."""
    if value.tzinfo is None:
        return value
    return value.astimezone(dt.UTC).replace(tzinfo=None)


def as_utc(value: dt.datetime) -> dt.datetime:
    """A stored naive-UTC datetime as an aware UTC datetime."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def iso_utc(value: dt.datetime | None) -> str | None:
    """ISO 8601 in UTC with a Z suffix (seconds precision), or None."""
    if value is None:
        return None
    if value.tzinfo is None:  # how timestamps are stored: already UTC
        return value.isoformat(timespec="seconds") + "Z"
    return to_utc_naive(value).isoformat(timespec="seconds") + "Z"


@functools.lru_cache(maxsize=512)
def zone(tz: str) -> ZoneInfo:
    """The ZoneInfo for an IANA name (cached; names are checked with `is_timezone` on the way in)."""
    return ZoneInfo(tz)


def local_view(value: dt.datetime | None, tz: str) -> dict | None:
    """003's time object: {"tz": "Europe/Paris", "local": "...+01:00", "utc": "...Z"}."""
    if value is None:
        return None
    local, utc = _local_and_utc(value, tz)
    return {"tz": tz, "local": local, "utc": utc}


@functools.lru_cache(maxsize=8192)
def _local_and_utc(value: dt.datetime, tz: str) -> tuple[str, str]:
    """The two ISO texts of a time object, remembered: lists render the same starts and ends again and again."""
    utc = as_utc(value)
    return (utc.astimezone(zone(tz)).isoformat(timespec="seconds"),
            utc.replace(tzinfo=None).isoformat(timespec="seconds") + "Z")

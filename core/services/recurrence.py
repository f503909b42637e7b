"""Recurrence rules (003): validation and expansion into occurrence times with dateutil.rrule.

Expands in the event's local timezone so wall-clock times survive DST; never writes to the database.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from dateutil import rrule

from core.errors import Unprocessable
from core.timefmt import as_utc

REPEAT_UNITS = {"day": rrule.DAILY, "week": rrule.WEEKLY, "month": rrule.MONTHLY, "year": rrule.YEARLY}
ENDS = ("never", "on_date", "after_occurrences")
WEEKDAYS = {"monday": rrule.MO, "tuesday": rrule.TU, "wednesday": rrule.WE, "thursday": rrule.TH,
            "friday": rrule.FR, "saturday": rrule.SA, "sunday": rrule.SU}
MAX_OCCURRENCES = 500
NEVER_HORIZON = dt.timedelta(days=365)
MAX_DURATION_HOURS = 24 * 31


@dataclass(frozen=True)
class Occurrence:
    """One generated date: naive UTC start and end."""

    starts_at: dt.datetime
    ends_at: dt.datetime


def validate_rule(rule: dict, index: int = 0) -> dict:
    """Check one rule's fields (already parsed by the API schema); raise 422 `invalid_recurrence`."""
    errors: dict[str, list[str]] = {}
    if rule.get("starts_at") is None:
        errors["starts_at"] = ["is required"]
    unit = rule.get("repeat_unit", "week")
    if unit not in REPEAT_UNITS:
        errors["repeat_unit"] = [f"must be one of {', '.join(REPEAT_UNITS)}"]
    if not isinstance(rule.get("repeat_value", 1), int) or not 1 <= rule.get("repeat_value", 1) <= 1000:
        errors["repeat_value"] = ["must be an integer from 1 to 1000"]
    ends = rule.get("ends", "never")
    if ends not in ENDS:
        errors["ends"] = [f"must be one of {', '.join(ENDS)}"]
    if ends == "on_date":
        if rule.get("ends_at") is None:
            errors["ends_at"] = ["is required when ends is on_date"]
        elif rule.get("starts_at") is not None and rule["ends_at"] < rule["starts_at"]:
            errors["ends_at"] = ["must not be before starts_at"]
    if ends == "after_occurrences" and not 1 <= (rule.get("max_occurrences") or 0) <= MAX_OCCURRENCES:
        errors["max_occurrences"] = [f"must be 1..{MAX_OCCURRENCES} when ends is after_occurrences"]
    duration = rule.get("duration")
    if duration is not None and not 0 < duration <= MAX_DURATION_HOURS:
        errors["duration"] = [f"must be more than 0 and at most {MAX_DURATION_HOURS} hours"]
    bad_days = [d for d in rule.get("days") or [] if d not in WEEKDAYS]
    if bad_days:
        errors["days"] = [f"unknown weekday(s) {bad_days}; use monday..sunday"]
    if errors:
        raise Unprocessable("A recurrence rule is invalid; see `errors`.", type="invalid_recurrence",
                            errors={f"recurrences[{index}]": errors})
    return rule


def _local_naive(value: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    return as_utc(value).astimezone(zone).replace(tzinfo=None)


def _to_utc(local: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    return local.replace(tzinfo=zone).astimezone(dt.UTC).replace(tzinfo=None)


def expand(rule, tz: str, default_duration: dt.timedelta, now: dt.datetime | None = None,
           limit: int = MAX_OCCURRENCES) -> list[Occurrence]:
    """Occurrences of one rule (a Recurrence row or a dict with its fields), in start order.

    `never` stops a year after max(start, now); every rule stops after `limit` occurrences.
    """
    get = rule.get if isinstance(rule, dict) else lambda name, default=None: getattr(rule, name, default)
    zone = ZoneInfo(tz)
    start = _local_naive(get("starts_at"), zone)
    unit = get("repeat_unit") or "week"
    options: dict = {"dtstart": start, "interval": get("repeat_value") or 1}
    days = get("days") or []
    if days and unit == "week":
        options["byweekday"] = [WEEKDAYS[d] for d in days]
    ends = get("ends") or "never"
    if ends == "after_occurrences":
        options["count"] = min(get("max_occurrences") or 1, limit)
    elif ends == "on_date":
        options["until"] = _local_naive(get("ends_at"), zone)
    else:
        now = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
        options["until"] = max(start, _local_naive(now, zone)) + NEVER_HORIZON
    hours = get("duration")
    length = dt.timedelta(hours=hours) if hours else default_duration
    result = []
    for local in itertools.islice(rrule.rrule(REPEAT_UNITS[unit], **options), limit):
        begins = _to_utc(local, zone)
        result.append(Occurrence(begins, begins + length))
    return result


def expand_all(rules, tz: str, default_duration: dt.timedelta, now: dt.datetime | None = None,
               limit: int = MAX_OCCURRENCES) -> list[tuple[object, Occurrence]]:
    """(rule, occurrence) pairs of every rule, merged in start order, duplicates starts dropped, capped."""
    pairs = [(rule, occ) for rule in rules for occ in expand(rule, tz, default_duration, now, limit)]
    pairs.sort(key=lambda p: p[1].starts_at)
    seen, unique = set(), []
    for rule, occ in pairs:
        if occ.starts_at not in seen:
            seen.add(occ.starts_at)
            unique.append((rule, occ))
    return unique[:limit]

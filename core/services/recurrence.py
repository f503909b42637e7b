"""Recurrence rules (003): validation and expansion into occurrence times with dateutil.rrule.

Expands in the event's local timezone so wall-clock times survive DST (operating-hour windows too); never
writes to the database.
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
MAX_WINDOWS = 24
RULE_DEFAULTS = {"ends": "never", "repeat_unit": "week", "repeat_value": 1, "days": [], "operating_hours": []}


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
    window_errors = _window_errors(rule.get("operating_hours") or [])
    if window_errors:
        errors["operating_hours"] = window_errors
    if errors:
        raise Unprocessable("A recurrence rule is invalid; see `errors`.", type="invalid_recurrence",
                            errors={f"recurrences[{index}]": errors})
    return rule


def _clock(text: str) -> dt.time:
    return dt.time.fromisoformat(text)


def _getter(rule):
    return rule.get if isinstance(rule, dict) else lambda name, default=None: getattr(rule, name, default)


def windows(rule) -> list[tuple[dt.time, dt.time]]:
    """A rule's operating hours as (open, close) local times, by opening time; a close at or before its open
    is on the next day (a window over midnight)."""
    return sorted((_clock(w["open"]), _clock(w["close"])) for w in _getter(rule)("operating_hours") or [])


def _minutes(clock: dt.time) -> int:
    return clock.hour * 60 + clock.minute


def _window_errors(hours: list) -> list[str]:
    """Why a list of `{open, close}` windows is unusable: too many, malformed, empty or overlapping."""
    if len(hours) > MAX_WINDOWS:
        return [f"at most {MAX_WINDOWS} windows"]
    try:
        spans = sorted((_minutes(_clock(w["open"])), _minutes(_clock(w["close"]))) for w in hours)
    except (KeyError, TypeError, ValueError):
        return ["each window is {open: \"HH:MM\", close: \"HH:MM\"}"]
    problems = []
    ends = []
    for opens, closes in spans:
        if opens == closes:
            problems.append(f"a window must not open and close at the same time ({opens // 60:02d}:{opens % 60:02d})")
        ends.append((opens, closes if closes > opens else closes + 24 * 60))
    for (_, first_close), (next_open, _) in zip(ends, ends[1:], strict=False):
        if next_open < first_close:
            problems.append("windows must not overlap")
            break
    if ends and ends[-1][1] > ends[0][0] + 24 * 60:
        problems.append("windows must not overlap (the last one runs into the next day's first)")
    return problems


def _local_naive(value: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    return as_utc(value).astimezone(zone).replace(tzinfo=None)


def _to_utc(local: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    return local.replace(tzinfo=zone).astimezone(dt.UTC).replace(tzinfo=None)


def _days(get, zone: ZoneInfo, start: dt.datetime, now: dt.datetime | None, *, whole_days: bool) -> dict:
    """The dateutil.rrule options of a rule, from local `start`; `whole_days` ends an `on_date` rule at the
    end of its last local day (its windows are filtered by time afterwards)."""
    unit = get("repeat_unit") or "week"
    options: dict = {"freq": REPEAT_UNITS[unit], "dtstart": start, "interval": get("repeat_value") or 1}
    days = get("days") or []
    if days and unit == "week":
        options["byweekday"] = [WEEKDAYS[d] for d in days]
    ends = get("ends") or "never"
    if ends == "on_date":
        until = _local_naive(get("ends_at"), zone)
        options["until"] = until.replace(hour=23, minute=59, second=59) if whole_days else until
    elif ends != "after_occurrences":
        now = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
        options["until"] = max(start, _local_naive(now, zone)) + NEVER_HORIZON
    return options


def _count(get, limit: int) -> int:
    return min(get("max_occurrences") or 1, limit) if get("ends") == "after_occurrences" else limit


def expand(rule, tz: str, default_duration: dt.timedelta, now: dt.datetime | None = None,
           limit: int = MAX_OCCURRENCES) -> list[Occurrence]:
    """Occurrences of one rule (a Recurrence row or a dict with its fields), in start order.

    With `operating_hours`, one occurrence per window per day the rule produces, from `open` to `close` local
    time (`duration` is not used), none starting before the rule's `starts_at` or after its `ends_at`; else one
    per produced time, lasting `duration` hours (default: the template's length). `never` stops a year after
    max(start, now); `after_occurrences` counts occurrences (windows, not days); every rule stops after `limit`.
    """
    get = _getter(rule)
    zone = ZoneInfo(tz)
    if get("operating_hours"):
        return _expand_windows(get, zone, now, _count(get, limit))
    options = _days(get, zone, _local_naive(get("starts_at"), zone), now, whole_days=False)
    hours = get("duration")
    length = dt.timedelta(hours=hours) if hours else default_duration
    result = []
    for local in itertools.islice(rrule.rrule(**options), _count(get, limit)):
        begins = _to_utc(local, zone)
        result.append(Occurrence(begins, begins + length))
    return result


def _expand_windows(get, zone: ZoneInfo, now: dt.datetime | None, count: int) -> list[Occurrence]:
    first = as_utc(get("starts_at")).replace(tzinfo=None)
    last = as_utc(get("ends_at")).replace(tzinfo=None) if get("ends") == "on_date" else None
    start = _local_naive(get("starts_at"), zone).replace(hour=0, minute=0, second=0, microsecond=0)
    hours = windows({"operating_hours": get("operating_hours")})  # `get` reads a row or a dict alike
    result: list[Occurrence] = []
    for day in itertools.islice(rrule.rrule(**_days(get, zone, start, now, whole_days=True)), count + 1):
        for opens, closes in hours:
            begins = _to_utc(dt.datetime.combine(day.date(), opens), zone)
            close_day = day.date() + dt.timedelta(days=1 if closes <= opens else 0)
            if begins < first or (last is not None and begins > last):
                continue
            result.append(Occurrence(begins, _to_utc(dt.datetime.combine(close_day, closes), zone)))
            if len(result) == count:
                return result
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

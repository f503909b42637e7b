"""An event as an iCalendar file (RFC 5545): one VEVENT per date a buyer can attend (the event itself, or each
published session of a parent), times in UTC.

Writes text only; never puts unescaped text in a property value, never a line longer than 75 octets.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from core.models import Event

PRODUCT = "-//Boxoffice//Event pages//EN"


def escape(text: str) -> str:
    """A TEXT value: backslash, semicolon, comma and line breaks escaped."""
    return (text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n"))


def fold(line: str) -> str:
    """A content line folded at 75 octets (continuations start with a space), never inside a UTF-8 character."""
    parts, current = [], ""
    for char in line:
        limit = 75 if not parts else 74
        if len((current + char).encode()) > limit:
            parts.append(current)
            current = char
        else:
            current += char
    parts.append(current)
    return "\r\n ".join(parts)


def stamp(when: dt.datetime) -> str:
    """A stored naive UTC time as an iCalendar UTC date-time."""
    return when.strftime("%Y%m%dT%H%M%SZ")


def calendar(dates: Iterable[Event], *, url_of, location: str, description: str, now: dt.datetime) -> str:
    """The VCALENDAR of `dates`; `url_of(event)` is each one's page."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{PRODUCT}", "CALSCALE:GREGORIAN", "METHOD:PUBLISH"]
    for event in dates:
        lines += ["BEGIN:VEVENT", f"UID:{event.id}@boxoffice", f"DTSTAMP:{stamp(now)}",
                  f"DTSTART:{stamp(event.starts_at)}", f"DTEND:{stamp(event.ends_at)}",
                  f"SUMMARY:{escape(event.name)}", f"URL:{url_of(event)}"]
        if location:
            lines.append(f"LOCATION:{escape(location)}")
        if description:
            lines.append(f"DESCRIPTION:{escape(description)}")
        lines.append("END:VEVENT")
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + "\r\n" for line in lines)

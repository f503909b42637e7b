"""How an event presents itself to the world: its slug and path, its public page and checkout links (made by
`event_lists.page_links`, which 003's list links use too), its location line and whether it is published. The
one place every event answer (the core's, 002's) takes them.

Pure functions of an event's stored columns (and its venue when the caller has it loaded); never queries, never
writes.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

from core.models import Event, Venue
from core.services.event_lists import page_links

MAX_SLUG = 300
SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def slugify(text: str) -> str:
    """A URL slug: ascii lower-case words joined by dashes."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:MAX_SLUG].strip("-") or "event"


def slug_problem(slug: str) -> str | None:
    """Why `slug` cannot be an event's slug (None when it can): lower-case ascii words joined by single dashes."""
    if not slug or len(slug) > MAX_SLUG:
        return f"must be 1 to {MAX_SLUG} characters"
    if not SLUG_PATTERN.match(slug):
        return "only lower-case letters, digits and single dashes between them, e.g. 'concert-de-jazz'"
    return None


def date_slug(template_slug: str, event_id: str) -> str:
    """The slug of a date generated from a recurring template: the template's plus the date's own id prefix."""
    return f"{template_slug[:MAX_SLUG - 9]}-{event_id[:8]}"


def event_path(event: Event) -> str:
    """002's `path`: "/" plus the slug."""
    return "/" + event.slug


def event_page_url(org_id: str, slug: str) -> str:
    """The event's public page under `BOXOFFICE_PUBLIC_URL`, `<public_url>/e/<org>/<slug>`: the attendee page
    link every API shows, made by `event_lists.page_links` (the one place these URLs are made)."""
    return page_links(org_id, slug)["event_page"]


def event_checkout_url(org_id: str, slug: str) -> str:
    """The event's checkout page, `<event page>/checkout` (`event_lists.page_links`' `order_page` without a
    list)."""
    return page_links(org_id, slug)["order_page"]


def is_published(event: Event, now: dt.datetime) -> bool:
    """Published: it has a publication time and that time has come."""
    return event.published_at is not None and event.published_at <= now


def venue_location(venue: Venue | None) -> str:
    """A venue as one line: its name, city and country (what is set of them)."""
    if venue is None:
        return ""
    return ", ".join(part for part in (venue.name, venue.city, venue.country) if part)


def location_text(event: Event, venue: Venue | None) -> str:
    """The event's place as one line: its own `location` text, else its venue's (`venue` as loaded by the
    caller, or None)."""
    return event.location or venue_location(venue)

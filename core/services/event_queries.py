"""Event list queries (003): filters, sort keys, keyset pages and batched preloads of relationships.

Every query starts from `scoped(Event, org)`; never one query per listed row, never a full-table COUNT.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from peewee import fn

from core.db import is_sqlite
from core.models import Booking, Event, Org, Recurrence, Ticket, Venue, utcnow
from core.pagination import (
    InvalidParameter,
    Page,
    SortKey,
    cursor_page,
    decode_cursor,
    keyset_condition,
    order_by,
    paginate_cursor,
    paginate_offset,
)
from core.services import event_taxonomy
from core.services.event_lists import default_lists_for
from core.services.passes import IS_003_PASS
from core.services.pickups import ticket_type_pickups
from core.services.statements import CompiledQuery, Slot, compile_query
from core.services.ticket_types import list_ticket_types
from core.tenancy import scoped

SORT_FIELDS = {
    "name": ("str", False),
    "starts_at": ("datetime", False),
    "ends_at": ("datetime", False),
    "venue_id": ("str", True),
    "parent_event_id": ("str", True),
    "published_at": ("datetime", True),
    "position": ("int", False),
    "created_at": ("datetime", False),
}
STATUSES = ("active", "over", "past", "future", "today", "tomorrow", "this_week", "next_week", "next_month")
_COLUMNS = {"venue_id": Event.venue, "parent_event_id": Event.parent}
LIST_INCLUDES = frozenset({"list", "list_setting"})  # the event's default list, with its setting


@dataclass
class EventFilters:
    """Parsed `filter[...]` values; None means "not filtered"."""

    search: str | None = None
    name: str | None = None
    venue_id: str | None = None
    parent_event_id: str | None = None
    archived: bool | None = None
    starts_from: dt.datetime | None = None
    starts_to: dt.datetime | None = None
    ends_from: dt.datetime | None = None
    ends_to: dt.datetime | None = None
    status: str | None = None
    type: str | None = None
    published: bool | None = None
    top_level: bool = False
    calendar_id: str | None = None
    category_id: str | None = None
    tag: str | None = None
    permanence: str | None = None
    extra: dict = field(default_factory=dict)


def events_with_sales(org: Org | str, event_ids: list[str]) -> set[str]:
    """Which of `event_ids` have a booking or a ticket (and so may not be deleted)."""
    if not event_ids:
        return set()
    found = {r.event_id for r in scoped(Booking, org, Booking.event).where(Booking.event.in_(event_ids))
             .distinct()}
    rest = [i for i in event_ids if i not in found]
    if rest:
        found |= {r.event_id for r in scoped(Ticket, org, Ticket.event).where(Ticket.event.in_(rest))
                  .distinct()}
    return found


def sort_keys(spec: list[tuple[str, bool]] | None) -> list[SortKey]:
    """SortKeys for `[(field, descending), ...]` (default starts_at asc), always ending with `id`."""
    spec = spec or [("starts_at", False)]
    keys = []
    for name, descending in spec:
        if name not in SORT_FIELDS:
            raise InvalidParameter(f"Cannot sort by {name!r}; use one of {', '.join(SORT_FIELDS)}.",
                                   errors={f"sort[{name}]": ["unknown sort field"]})
        kind, nullable = SORT_FIELDS[name]
        column = _COLUMNS.get(name) or getattr(Event, name)
        keys.append(SortKey(name, column, kind, descending, nullable, attr=name))
    last_desc = keys[-1].descending
    keys.append(SortKey("id", Event.id, "str", last_desc))
    return keys


def _day_bounds(status: str, zone: ZoneInfo, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) in naive UTC of today/tomorrow/this week/next week/next month in `zone`."""
    local_today = now.replace(tzinfo=dt.UTC).astimezone(zone).date()
    if status in ("today", "tomorrow"):
        first = local_today + dt.timedelta(days=0 if status == "today" else 1)
        last = first + dt.timedelta(days=1)
    elif status in ("this_week", "next_week"):
        first = local_today - dt.timedelta(days=local_today.weekday())
        if status == "next_week":
            first += dt.timedelta(days=7)
        last = first + dt.timedelta(days=7)
    else:
        month_start = local_today.replace(day=1)
        first = (month_start + dt.timedelta(days=32)).replace(day=1)
        last = (first + dt.timedelta(days=32)).replace(day=1)

    def to_utc(day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(), zone).astimezone(dt.UTC).replace(tzinfo=None)

    return to_utc(first), to_utc(last)


def status_condition(org, status: str, now: dt.datetime):
    """003's `filter[status]` as SQL; calendar windows are computed per event timezone present."""
    if status not in STATUSES:
        raise InvalidParameter(f"Unknown status {status!r}; use one of {', '.join(STATUSES)}.",
                               errors={"filter[status]": ["unknown value"]})
    simple = {"active": Event.ends_at >= now, "over": Event.ends_at < now, "future": Event.starts_at > now,
              "past": Event.starts_at < now}
    if status in simple:
        return simple[status]
    zones = [row.tz for row in scoped(Event, org, Event.tz).distinct()]
    condition = None
    for tz in zones:
        try:
            begin, end = _day_bounds(status, ZoneInfo(tz), now)
        except (KeyError, ValueError):
            continue
        term = (Event.tz == tz) & (Event.starts_at < end) & (Event.ends_at > begin)
        condition = term if condition is None else condition | term
    return condition if condition is not None else (Event.id.is_null())


def apply_filters(query, org, filters: EventFilters, now: dt.datetime | None = None):
    """Narrow an event query by `filters` (all AND-ed)."""
    now = now or utcnow()
    conditions = []
    if filters.search and filters.search.strip():
        needle = filters.search.strip()
        conditions.append(Event.name.contains(needle) | Event.description.contains(needle))
    if filters.name is not None:
        conditions.append(Event.name == filters.name)
    if filters.venue_id is not None:
        conditions.append(Event.venue == filters.venue_id)
    if filters.parent_event_id is not None:
        conditions.append(Event.parent == filters.parent_event_id)
    elif filters.top_level:
        conditions.append(Event.parent.is_null())
    if filters.archived is not None:
        conditions.append(Event.archived_at.is_null(not filters.archived))
    if filters.type is not None:
        conditions.append(Event.type == filters.type)
    if filters.published is not None:
        conditions.append(Event.published_at <= now if filters.published
                          else (Event.published_at.is_null() | (Event.published_at > now)))
    for column, low, high in ((Event.starts_at, filters.starts_from, filters.starts_to),
                              (Event.ends_at, filters.ends_from, filters.ends_to)):
        if low is not None:
            conditions.append(column >= low)
        if high is not None:
            conditions.append(column <= high)
    if filters.status:
        conditions.append(status_condition(org, filters.status, now))
    conditions += event_taxonomy.filter_conditions(org, filters.calendar_id, filters.category_id, filters.tag,
                                                   filters.permanence)
    for condition in conditions:
        if condition is not None:
            query = query.where(condition)
    return query


def staff_query(org, filters: EventFilters):
    """All of the tenant's events (sessions and generated dates included) matching `filters`."""
    return apply_filters(scoped(Event, org), org, filters)


def public_query(org, now: dt.datetime | None = None):
    """The tenant's events a customer may see: published (published_at <= now), not archived, public."""
    now = now or utcnow()
    return scoped(Event, org).where(Event.published_at <= now, Event.archived_at.is_null(),
                                    Event.visibility == "public")


def fetch_page(query, keys: list[SortKey], size: int, cursor: str | None = None,
               page: int | None = None) -> Page:
    """A cursor page, or a numbered page when `page` is given (002's page/limit)."""
    if page is not None:
        return paginate_offset(query, keys, page, size)
    return paginate_cursor(query, keys, size, cursor)


_UNFILTERED = EventFilters(top_level=True)
_WHOLE_ROW = tuple(Event._meta.sorted_fields)


@functools.lru_cache(maxsize=8)
def _unfiltered_sql(with_cursor: bool, sqlite: bool, columns: tuple) -> CompiledQuery:
    keys = sort_keys(None)
    query = apply_filters(public_query(Slot("org"), now=Slot("now")), None, _UNFILTERED, now=Slot("now"))
    if with_cursor:
        query = query.where(keyset_condition(keys, [Slot("after_start"), Slot("after_id")]))
    return compile_query(query.select(*columns).order_by(*order_by(keys)).limit(Slot("limit")))


def _unfiltered_rows(org, size: int, cursor: str | None, columns: tuple) -> list[Event]:
    """The rows `fetch_page` loads for the unfiltered list, soonest first, from SQL compiled once."""
    values = {"org": org.id, "now": Event.published_at.db_value(utcnow()), "limit": size + 1}
    if cursor:
        after_start, after_id = decode_cursor(sort_keys(None), cursor)
        values.update(after_start=Event.starts_at.db_value(after_start), after_id=after_id)
    return _unfiltered_sql(bool(cursor), is_sqlite(), columns).rows(Event, columns, **values)


def public_page(org, filters: EventFilters, sort: list[tuple[str, bool]] | None, size: int,
                cursor: str | None = None, page: int | None = None, columns: tuple | None = None) -> Page:
    """One page of the customer list: the tenant's published public events matching `filters`, in `sort`
    order (default soonest first), by cursor or page number.

    `columns` (holding at least `id` and `starts_at`) narrows what is read to what the caller shows, in the
    default order; other orders read whole rows. The on-sale default (no filter but top level, default order,
    by cursor) is the hottest read of a sale, so its SQL is compiled once; test_client_browse checks it pages
    exactly like the general query."""
    keys = sort_keys(sort)
    columns = columns if columns and not sort else _WHOLE_ROW
    if page is None and not sort and filters == _UNFILTERED:
        return cursor_page(keys, _unfiltered_rows(org, size, cursor, columns), size, first=not cursor)
    return fetch_page(apply_filters(public_query(org), org, filters).select(*columns), keys, size, cursor, page)


def event_status(event: Event, now: dt.datetime) -> str:
    """The time-based status of one event: `future`, `active` (in progress) or `over`."""
    return status_between(event.starts_at, event.ends_at, now)


def status_between(starts_at: dt.datetime, ends_at: dt.datetime, now: dt.datetime) -> str:
    """`event_status` of an event running from `starts_at` to `ends_at`."""
    if ends_at < now:
        return "over"
    return "active" if starts_at <= now else "future"


@dataclass
class Related:
    """Relationships preloaded for a page of events, each with one query."""

    venues: dict = field(default_factory=dict)
    sessions: dict = field(default_factory=lambda: defaultdict(list))
    recurrences: dict = field(default_factory=lambda: defaultdict(list))
    ticket_types: dict = field(default_factory=lambda: defaultdict(list))
    categories: dict = field(default_factory=dict)
    tags: dict = field(default_factory=dict)
    campaigns: dict = field(default_factory=dict)
    pickups: dict = field(default_factory=lambda: defaultdict(list))
    passes: dict = field(default_factory=lambda: defaultdict(list))
    active_occurrences: dict = field(default_factory=dict)
    lists: dict = field(default_factory=dict)
    with_sales: set | None = None


def _families_with_sales(org, events: list[Event]) -> set[str]:
    """Ids of `events` that have sales themselves or through one of their sessions/dates."""
    ids = [e.id for e in events]
    owners = {i: i for i in ids}
    containers = [e.id for e in events if e.type != "date"]
    if containers:
        for child in scoped(Event, org, Event.id, Event.parent).where(Event.parent.in_(containers)):
            owners[child.id] = child.parent_event_id
    return {owners[i] for i in events_with_sales(org, list(owners))}


def _preload_taxonomy(org, related: Related, holders: list[str], include: set[str]) -> None:
    """Categories, tags and active campaigns of the listed events and their sessions, one query each."""
    if "categories" in include:
        related.categories = event_taxonomy.categories_of(org, holders)
    if "tags" in include:
        related.tags = event_taxonomy.tags_of(org, holders)
    if "campaigns" in include:
        related.campaigns = event_taxonomy.active_campaigns_of(org, holders, utcnow())


def active_occurrences(org, rule_ids: list[str], now: dt.datetime | None = None) -> dict[str, int]:
    """Rule id -> how many dates it generated that are not over and not archived (one grouped query)."""
    if not rule_ids:
        return {}
    now = now or utcnow()
    rows = (scoped(Event, org, Event.recurrence_id, fn.COUNT(Event.id))
            .where(Event.recurrence_id.in_(rule_ids) & Event.archived_at.is_null() & (Event.ends_at > now))
            .group_by(Event.recurrence_id).tuples())
    return dict(rows)


def preload(org, events: list[Event], include: set[str], want_deletable: bool = False,
            public_only: bool = False, want_locations: bool = False) -> Related:
    """Load venues, sessions, recurrences, ticket types (and their pickups), categories, tags, active campaigns,
    default lists and sales flags for `events` in batched queries (one per relationship for the whole page).

    `public_only` limits sessions to published public ones and ticket types to public, unarchived ones;
    `want_locations` loads the venues of the events without a `location` text of their own (their `location`
    is the venue's line), in the same one venue query.
    """
    related = Related()
    ids = [e.id for e in events]
    if not ids:
        return related
    if "venue" in include or want_locations:
        venue_ids = {e.venue_id for e in events if e.venue_id and ("venue" in include or not e.location)}
        if venue_ids:
            related.venues = {v.id: v for v in scoped(Venue, org).where(Venue.id.in_(list(venue_ids)))}
    if "sessions" in include:
        query = public_query(org) if public_only else scoped(Event, org)
        for child in query.where(Event.parent.in_(ids)).order_by(Event.starts_at, Event.id).limit(5000):
            related.sessions[child.parent_event_id].append(child)
    if "recurrences" in include:
        for rule in scoped(Recurrence, org).where(Recurrence.event.in_(ids)).order_by(Recurrence.created_at):
            related.recurrences[rule.event_id].append(rule)
        related.active_occurrences = active_occurrences(
            org, [r.id for rules in related.recurrences.values() for r in rules])
    holders = ids + [c.id for kids in related.sessions.values() for c in kids]
    if "registration_types.event.venue" in include:  # each type's event is a listed event or session
        shown = [*events, *(c for kids in related.sessions.values() for c in kids)]
        venue_ids = sorted({e.venue_id for e in shown if e.venue_id} - set(related.venues))
        if venue_ids:
            related.venues.update({v.id: v for v in scoped(Venue, org).where(Venue.id.in_(venue_ids))})
    _preload_taxonomy(org, related, holders, include)
    if "registration_types" in include:
        for tt in list_ticket_types(org, event_ids=holders, include_archived=True, public_only=public_only
                                    ).where(~IS_003_PASS):
            related.ticket_types[tt.event_id].append(tt)
    if "registration_types.pickups" in include:
        type_ids = [tt.id for types in related.ticket_types.values() for tt in types]
        related.pickups = ticket_type_pickups(org, type_ids)
    if "passes" in include:  # 003: a registration type is scoped to one date or session, a pass spans the parent
        for tt in list_ticket_types(org, event_ids=ids, include_archived=True, public_only=public_only
                                    ).where(IS_003_PASS):
            related.passes[tt.event_id].append(tt)
        related.pickups.update(ticket_type_pickups(org, [tt.id for found in related.passes.values() for tt in found]))
    if include & LIST_INCLUDES:
        related.lists = default_lists_for(org, holders)
    if want_deletable:
        related.with_sales = _families_with_sales(org, events)
    return related


def get_public_event(org, event_id: str) -> Event:
    """A published, public, unarchived event of the tenant, else 404 `event_not_found` (drafts and other
    tenants' events look the same as missing ones)."""
    from core.errors import NotFound

    event = None
    if isinstance(event_id, str) and len(event_id) <= 64:
        event = public_query(org).where(Event.id == event_id).first()
    if event is None:
        raise NotFound(f"No event with id {event_id!r}.", type="event_not_found")
    return event


def get_public_event_by_slug(org, slug: str) -> Event:
    """The published, public, unarchived event of the tenant at `slug` (its attendee page's address), else 404
    `event_not_found`: the same visibility as `get_public_event`."""
    from core.errors import NotFound

    event = None
    if isinstance(slug, str) and 0 < len(slug) <= 300:
        event = public_query(org).where(Event.slug == slug).first()
    if event is None:
        raise NotFound(f"No event at {slug!r}.", type="event_not_found")
    return event


def schedule(org, event: Event, limit: int = 500) -> list[Event]:
    """What a customer can attend, in start order: the published sessions/dates that have not ended
    (the event itself when it has none)."""
    if event.type == "date":
        return [event]
    return list(public_query(org).where((Event.parent == event.id) & (Event.ends_at >= utcnow()))
                .order_by(Event.starts_at, Event.id).limit(limit))

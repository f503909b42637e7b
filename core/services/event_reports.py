"""An event's figures for its organiser: seats sold, held and left per ticket type, sales and check-ins over time
(bucketed by hour or day in the event's timezone), revenue by payment method net of refunds, admissions per scan
point, and the organiser's list of events with their sales and check-ins; the attendee list's CSV export.

Read-only: a constant number of aggregate statements per report, every one scoped by `org_id`; never changes a
counter or releases a hold (what `left` counts is what the next purchase finds once overdue holds are released).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from peewee import Case, fn

from core.models import Booking, BookingLine, CheckIn, Event, Org, Ticket, TicketType, utcnow
from core.services import event_queries, ticket_queries
from core.services.ticket_configurations import shown_name
from core.tenancy import along, get_scoped, scoped
from core.timefmt import iso_utc

HOURLY_SPAN = dt.timedelta(hours=48)   # a series spanning longer than this is bucketed by day
PAID_STATES = ("confirmed", "partially_refunded", "refunded")   # a booking that was paid (its money counted)
ADMITTED = "admitted"   # the scan log's `result` of an admission (`core.services.checkin`)
CHECKED_IN = "checked_in"
EXPORT_PAGE = 200   # attendee rows read per statement by the CSV export
CSV_COLUMNS = ("ticket_id", "holder_name", "holder_email", "ticket_type", "status", "scans", "first_scanned_at",
               "booking_id")


@dataclass(frozen=True)
class TypeSeats:
    """One ticket type's seats: `held` by pending bookings whose hold has not run out, `left` None when the type
    (and its event) have no capacity."""

    id: str
    name: str
    capacity: int | None
    sold: int
    held: int
    left: int | None


@dataclass(frozen=True)
class Bucket:
    """One hour or day of a series: its local start in the event's timezone and its count (seats sold, or
    admissions)."""

    start: dt.datetime
    count: int


@dataclass(frozen=True)
class Series:
    """A series over time: `unit` is `hour` or `day`; the buckets are contiguous (empty ones count 0)."""

    unit: str
    buckets: list[Bucket]

    @property
    def total(self) -> int:
        """The sum of the buckets."""
        return sum(bucket.count for bucket in self.buckets)

    @property
    def peak(self) -> int:
        """The largest bucket (0 for an empty series)."""
        return max((bucket.count for bucket in self.buckets), default=0)


@dataclass(frozen=True)
class GatewayRevenue:
    """What the paid bookings of one payment method brought in one currency: `net` is `paid` less `refunded`."""

    gateway: str
    currency: str
    bookings: int
    paid: int
    refunded: int

    @property
    def net(self) -> int:
        """Paid less refunded, in minor units."""
        return self.paid - self.refunded


@dataclass(frozen=True)
class DoorCount:
    """Admissions at one scan point (`None`: scans that named none) and how many tickets they admitted."""

    scan_point: str | None
    admissions: int
    tickets: int


@dataclass(frozen=True)
class EventReport:
    """Everything the organiser's dashboard and `GET /events/{event_id}/report` show of one event."""

    event: Event
    generated_at: dt.datetime
    types: list[TypeSeats]
    sales: Series
    check_ins: Series
    revenue: list[GatewayRevenue]
    doors: list[DoorCount]
    checked_in: int

    @property
    def sold(self) -> int:
        """Seats sold over every ticket type."""
        return sum(row.sold for row in self.types)

    @property
    def held(self) -> int:
        """Seats held by live holds over every ticket type."""
        return sum(row.held for row in self.types)

    @property
    def capacity(self) -> int | None:
        """The event's capacity, else the sum of its types' (None when one of them is unlimited)."""
        if self.event.capacity is not None:
            return self.event.capacity
        capacities = [row.capacity for row in self.types]
        return None if not capacities or None in capacities else sum(capacities)

    @property
    def left(self) -> int | None:
        """Seats still on sale for the whole event (None: unlimited)."""
        capacity = self.capacity
        return None if capacity is None else max(capacity - self.sold - self.held, 0)


@dataclass(frozen=True)
class EventLine:
    """One event of the organiser's list: seats sold, its capacity (None: unlimited), tickets checked in."""

    event: Event
    sold: int
    capacity: int | None
    checked_in: int


def _local(when: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    return when.replace(tzinfo=dt.UTC).astimezone(zone)


def series(times: Sequence[tuple[dt.datetime, int]], tz: str) -> Series:
    """Counts at stored (naive UTC) times bucketed in the zone `tz`: by hour when they span at most 48 hours,
    else by day; every bucket from the first to the last is present."""
    if not times:
        return Series("hour", [])
    zone = ZoneInfo(tz)
    first, last = min(when for when, _ in times), max(when for when, _ in times)
    unit = "hour" if last - first <= HOURLY_SPAN else "day"

    def key(when: dt.datetime) -> dt.datetime:
        local = _local(when, zone).replace(minute=0, second=0, microsecond=0, tzinfo=None)
        return local if unit == "hour" else local.replace(hour=0)

    counts: dict[dt.datetime, int] = {}
    for when, count in times:
        counts[key(when)] = counts.get(key(when), 0) + count
    step = dt.timedelta(hours=1) if unit == "hour" else dt.timedelta(days=1)
    buckets, current, end = [], key(first), key(last)
    while current <= end:
        buckets.append(Bucket(current.replace(tzinfo=zone), counts.get(current, 0)))
        current += step
    return Series(unit, buckets)


def _live_holds(org_id: str, event_id: str, now: dt.datetime) -> dict[str, int]:
    """Seats per ticket type held by the event's pending bookings whose hold has not run out."""
    rows = (scoped(BookingLine, org_id, BookingLine.ticket_type, fn.SUM(BookingLine.seats))
            .join(Booking, on=along(BookingLine.booking))
            .where((Booking.event == event_id) & (Booking.status == "pending") & (Booking.expires_at > now)
                   & BookingLine.ticket_type.is_null(False))
            .group_by(BookingLine.ticket_type).tuples())
    return {type_id: int(seats or 0) for type_id, seats in rows}


def _type_seats(org_id: str, event: Event, now: dt.datetime) -> list[TypeSeats]:
    held = _live_holds(org_id, event.id, now)
    types = (scoped(TicketType, org_id).where(TicketType.event == event.id)
             .order_by(TicketType.position, TicketType.created_at, TicketType.id))
    rows = []
    for row in types:
        holding = held.get(row.id, 0)
        left = None if row.capacity is None else max(row.capacity - row.sold - holding, 0)
        rows.append(TypeSeats(row.id, row.name, row.capacity, row.sold, holding, left))
    return rows


def _sales_times(org_id: str, event: Event) -> list[tuple[dt.datetime, int]]:
    """When each of the event's bookings was confirmed and its seats (a booking refunded later still sold)."""
    return list(scoped(Booking, org_id, Booking.confirmed_at, Booking.seats)
                .where((Booking.event == event.id) & Booking.confirmed_at.is_null(False)).tuples())


def _admission_times(org_id: str, event: Event) -> list[tuple[dt.datetime, int]]:
    return [(when, 1) for (when,) in scoped(CheckIn, org_id, CheckIn.created_at)
            .where((CheckIn.event == event.id) & (CheckIn.result == ADMITTED)).tuples()]


def _revenue(org_id: str, event: Event) -> list[GatewayRevenue]:
    rows = (scoped(Booking, org_id, Booking.gateway, Booking.currency, fn.COUNT(Booking.id), fn.SUM(Booking.amount),
                   fn.SUM(Booking.refunded_amount))
            .where((Booking.event == event.id) & Booking.status.in_(PAID_STATES) & (Booking.amount > 0))
            .group_by(Booking.gateway, Booking.currency).order_by(Booking.gateway, Booking.currency).tuples())
    return [GatewayRevenue(gateway, currency, int(count), int(paid or 0), int(refunded or 0))
            for gateway, currency, count, paid, refunded in rows]


def reported_event(org: Org | str, event_id: str) -> Event:
    """The tenant's event a report is about (404 `event_not_found` for an unknown or another tenant's)."""
    return get_scoped(Event, org, event_id, "event")


def door_counts(org: Org | str, event_id: str) -> list[DoorCount]:
    """Admissions per scan point of the tenant's event `event_id` (busiest first), with the tickets they
    admitted (none for an unknown event: look the event up first with `reported_event`)."""
    org_id = org if isinstance(org, str) else org.id
    rows = (scoped(CheckIn, org_id, CheckIn.scan_point, fn.COUNT(CheckIn.id), fn.COUNT(CheckIn.ticket.distinct()))
            .where((CheckIn.event == event_id) & (CheckIn.result == ADMITTED))
            .group_by(CheckIn.scan_point).tuples())
    counts = [DoorCount(point, int(admissions), int(tickets)) for point, admissions, tickets in rows]
    return sorted(counts, key=lambda row: (-row.admissions, row.scan_point or ""))


def _checked_in(org_id: str, event_ids: list[str]) -> dict[str, int]:
    """Tickets checked in per event (a ticket admitted several times counts once)."""
    if not event_ids:
        return {}
    rows = (scoped(Ticket, org_id, Ticket.event, fn.COUNT(Ticket.id))
            .where(Ticket.event.in_(event_ids) & (Ticket.status == CHECKED_IN)).group_by(Ticket.event).tuples())
    return {event_id: int(count) for event_id, count in rows}


def event_report(org: Org | str, event_id: str, now: dt.datetime | None = None) -> EventReport:
    """The event's report (404 `event_not_found` for an unknown or another tenant's event)."""
    now = now or utcnow()
    event = reported_event(org, event_id)
    org_id = event.org_id
    return EventReport(event=event, generated_at=now, types=_type_seats(org_id, event, now),
                       sales=series(_sales_times(org_id, event), event.tz),
                       check_ins=series(_admission_times(org_id, event), event.tz),
                       revenue=_revenue(org_id, event), doors=door_counts(org, event.id),
                       checked_in=_checked_in(org_id, [event.id]).get(event.id, 0))


def event_lines(org: Org | str, search: str | None, page: int, size: int,
                now: dt.datetime | None = None) -> tuple[list[EventLine], bool]:
    """A page (1-based) of the tenant's events that are not archived, whose name contains `search` when given:
    those not over first, soonest first, then the past ones, latest first; and whether another page follows."""
    now = now or utcnow()
    query = event_queries.staff_query(org, event_queries.EventFilters(archived=False))
    if search and search.strip():
        query = query.where(Event.name.contains(search.strip()))
    over = Event.ends_at < now
    events = list(query.order_by(Case(None, [(over, 1)], 0), Case(None, [(over, None)], Event.starts_at),
                                 Event.starts_at.desc(), Event.id).limit(size + 1).offset((page - 1) * size))
    more = len(events) > size
    events = events[:size]
    org_id = org if isinstance(org, str) else org.id
    ids = [event.id for event in events]
    checked = _checked_in(org_id, ids)
    capacities = _type_capacities(org_id, ids)
    lines = [EventLine(event, event.sold, event.capacity if event.capacity is not None else capacities.get(event.id),
                       checked.get(event.id, 0)) for event in events]
    return lines, more


def _type_capacities(org_id: str, event_ids: list[str]) -> dict[str, int | None]:
    """The sum of each event's ticket type capacities (None when one of its types is unlimited)."""
    if not event_ids:
        return {}
    unlimited = fn.SUM(Case(None, [(TicketType.capacity.is_null(), 1)], 0))
    rows = (scoped(TicketType, org_id, TicketType.event, fn.SUM(TicketType.capacity), unlimited)
            .where(TicketType.event.in_(event_ids)).group_by(TicketType.event).tuples())
    return {event_id: (None if open_ended else int(total or 0)) for event_id, total, open_ended in rows}


def attendee_page(org: Org | str, event_id: str, search: str | None, page: int, size: int):
    """A page (1-based) of the event's attendees: its valid and checked-in tickets whose holder name, e-mail or
    ticket id matches `search` (`ticket_queries.event_tickets`, the staff ticket list's query)."""
    return ticket_queries.event_tickets(org, event_id, statuses=ticket_queries.ATTENDING, search=search,
                                        size=size, page=page)


def _cell(value: object) -> str:
    """A CSV cell a spreadsheet shows as text (a leading `=`, `+`, `-` or `@` would start a formula)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def attendee_csv(org: Org | str, event_id: str, search: str | None) -> Iterator[str]:
    """The attendee list (the same filter as `attendee_page`) as CSV text, a header line then one line per
    ticket, read `EXPORT_PAGE` rows per statement; 404 `event_not_found` before anything is produced."""
    reported_event(org, event_id)

    def lines() -> Iterator[str]:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(CSV_COLUMNS)
        cursor = None
        while True:
            found = ticket_queries.event_tickets(org, event_id, statuses=ticket_queries.ATTENDING, search=search,
                                                 size=EXPORT_PAGE, cursor=cursor)
            for ticket in found.rows:
                writer.writerow([_cell(value) for value in (
                    ticket.id, ticket.holder_name, ticket.holder_email, shown_name(ticket.ticket_type),
                    ticket.status, ticket.scan_count, iso_utc(ticket.first_scanned_at), ticket.booking_id)])
            yield out.getvalue()
            out.seek(0)
            out.truncate()
            if found.last or not found.next_cursor:
                return
            cursor = found.next_cursor

    return lines()

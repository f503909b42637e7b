"""Session participation: customers choose the sessions of a parent event they will attend and staff invite
them; the door admits a pass at a session only by that choice (`checkin`, by `door_rules.SESSION_RULE`).

Never counts a seat on a read: every seat and status change is a conditional UPDATE. Knows nothing of HTTP.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from peewee import IntegrityError, fn

from core.db import is_sqlite, write_transaction
from core.errors import ApiError, Conflict, Forbidden, NotFound, Unprocessable
from core.models import Customer, Event, Ticket, utcnow
from core.models.participation import ATTENDING, SEAT_HOLDING, Participation, SessionSeats
from core.pagination import Page, SortKey, paginate_offset
from core.services import ticket_queries
from core.tenancy import along, get_scoped, scoped
from core.timefmt import iso_utc

COVERING = ("valid", "checked_in")
RELEASED = "released"  # the covering ticket went away (refund, cancel, transfer); the seat was given back
FREED = ("declined", "cancelled", RELEASED)  # states that hold no seat and can be chosen or invited again
VISIBILITIES = ("none", "names", "full")
PUBLIC_KEYS = (SortKey("name", fn.MAX(Participation.name)), SortKey("customer", Participation.customer))
STAFF_KEYS = (SortKey("created", Participation.created_at, "datetime", attr="created_at"),
              SortKey("id", Participation.id))


class SessionsOverlap(Conflict):
    """409 `sessions_overlap`: two chosen sessions run at the same time and the event does not allow it."""

    type = "sessions_overlap"


class SessionFull(Conflict):
    """409 `session_full`: every participation seat of the session is taken."""

    type = "session_full"


class TicketRequired(Forbidden):
    """403 `ticket_required`: none of the customer's tickets covers the session."""

    type = "ticket_required"


@dataclass(frozen=True)
class Outcome:
    """A parent event and the customer's participations in its sessions after a change."""

    parent: Event
    rows: list[Participation]


# --- sessions, coverage, seats -----------------------------------------------------------------------------

def parent_event(org, parent_id: str) -> Event:
    """The tenant's parent event (one with sessions), 404 `event_not_found` or 422 `not_a_parent_event`."""
    event = get_scoped(Event, org, parent_id, "event")
    if event.type != "parent":
        raise Unprocessable("Sessions can be chosen only on a parent event (one with sessions).",
                            type="not_a_parent_event", eventId=event.id)
    return event


def session_event(org, session_id: str) -> Event:
    """The tenant's session (a date event under a parent), 404 `event_not_found` or 422 `not_a_session`."""
    event = get_scoped(Event, org, session_id, "event")
    if event.parent_event_id is None:
        raise Unprocessable("This event is not a session of a parent event.", type="not_a_session",
                            eventId=event.id)
    return event


def _sessions(org, parent: Event, session_ids: Iterable[str]) -> list[Event]:
    wanted = list(dict.fromkeys(session_ids))
    found = {e.id: e for e in scoped(Event, org).where((Event.parent == parent.id) & Event.id.in_(wanted))}
    missing = [s for s in wanted if s not in found]
    if missing:
        raise Unprocessable(f"No session {missing[0]!r} under this event.", type="session_not_found",
                            errors={"sessionIds": missing}, sessionIds=missing)
    return sorted(found.values(), key=lambda e: e.id)


def covered_session_ids(org, customer_id: str, parent: Event, session_ids: Iterable[str]) -> set[str]:
    """Which of `session_ids` the customer's live tickets cover: a ticket of the parent (a pass or a
    parent-level ticket) covers every session, a session's ticket covers that session."""
    events = {t.event_id for t in ticket_queries.my_tickets(org, customer_id) if t.status in COVERING}
    if parent.id in events:
        return set(session_ids)
    return set(session_ids) & events


def _overlapping(sessions: list[Event]) -> tuple[Event, Event] | None:
    ordered = sorted(sessions, key=lambda e: (e.starts_at, e.ends_at))
    for before, after in zip(ordered, ordered[1:], strict=False):
        if after.starts_at < before.ends_at:
            return before, after
    return None


def allows_overlap(parent: Event) -> bool:
    """True when the parent event lets a customer choose sessions that run at the same time
    (`settings["allow_overlap"]`, set through the event's `allow_overlap` field)."""
    return bool((parent.settings or {}).get("allow_overlap"))


def _refuse_overlap(parent: Event, sessions: list[Event]) -> None:
    if allows_overlap(parent):
        return
    clash = _overlapping(sessions)
    if clash:
        first, second = clash
        raise SessionsOverlap(f"{first.name!r} and {second.name!r} run at the same time; choose one.",
                              sessionIds=[first.id, second.id])


def _take_seat(org_id: str, session: Event) -> None:
    """One participation seat of `session`: `taken + 1 <= capacity` in one UPDATE, or 409 `session_full`."""
    SessionSeats.insert(org=org_id, session=session.id, taken=0).on_conflict_ignore().execute()
    condition = (SessionSeats.org == org_id) & (SessionSeats.session == session.id)
    if session.capacity is not None:
        condition &= SessionSeats.taken + 1 <= session.capacity
    won = SessionSeats.update(taken=SessionSeats.taken + 1, updated_at=utcnow()).where(condition).execute()
    if won != 1:
        raise SessionFull(f"{session.name!r} is full.", sessionId=session.id, capacity=session.capacity)


def _release_seat(row: Participation) -> None:
    """Give the seat of `row`'s session back (never below zero)."""
    (SessionSeats.update(taken=SessionSeats.taken - 1, updated_at=utcnow())
     .where((SessionSeats.org == row.org_id) & (SessionSeats.session == row.session_id)
            & (SessionSeats.taken >= 1)).execute())


def _move(row: Participation, from_states: Iterable[str], to_state: str, **values) -> bool:
    """Conditional UPDATE of one participation's status; True if it was in `from_states` and moved."""
    now = utcnow()
    won = (Participation.update(status=to_state, updated_at=now, **values)
           .where(row.row_condition() & Participation.status.in_(tuple(from_states))).execute())
    if won == 1:
        row.status, row.updated_at = to_state, now
        for name, value in values.items():
            setattr(row, name, value)
    return won == 1


def _lock_customer(org_id: str, customer_id: str) -> None:
    """Serialise one customer's selection changes, so the overlap rule holds under concurrent requests.

    SQLite's write transactions (BEGIN IMMEDIATE) are serial already; PostgreSQL locks the customer row.
    """
    if not is_sqlite():
        (Customer.select(Customer.id).where((Customer.id == customer_id) & (Customer.org == org_id))
         .for_update().execute())


# --- customers choose --------------------------------------------------------------------------------------

def _with_session(org):
    """The tenant's participation rows with their session (`row.session`)."""
    return (scoped(Participation, org, Participation, Event)
            .join(Event, on=along(Participation.session, Event), attr="session"))


def _rows(org, customer_id: str, parent_id: str) -> list[Participation]:
    return list(_with_session(org)
                .where((Participation.customer == customer_id) & (Participation.parent == parent_id))
                .order_by(Event.starts_at, Event.id))


def choose_sessions(org, customer_id: str, parent_id: str, session_ids: list[str], *,
                    replace: bool = False) -> Outcome:
    """Add `session_ids` to the customer's selection in a parent event (or make it exactly those, `replace`).

    Each new session takes one participation seat (409 `session_full`); a pending invitation to a chosen
    session is accepted; sessions dropped by `replace` give their seat back. 403 `ticket_required` for a
    session no live ticket of the customer covers; 409 `sessions_overlap` unless `settings.allow_overlap`.
    """
    org_id = org if isinstance(org, str) else org.id
    customer = get_scoped(Customer, org, customer_id, "customer")
    parent = parent_event(org, parent_id)
    wanted = _sessions(org, parent, session_ids)
    uncovered = sorted({s.id for s in wanted} - covered_session_ids(org, customer.id, parent, [s.id for s in wanted]))
    if uncovered:
        raise TicketRequired("None of your tickets covers this session; buy a pass or a ticket for it.",
                             sessionIds=uncovered)
    with write_transaction():
        _lock_customer(customer.org_id, customer.id)
        rows = {r.session_id: r for r in _rows(org, customer.id, parent.id)}
        wanted_ids = {s.id for s in wanted}
        keep = [r.session for r in rows.values()
                if r.status in ATTENDING and (not replace or r.session_id in wanted_ids)]
        _refuse_overlap(parent, list({s.id: s for s in [*keep, *wanted]}.values()))
        for session in wanted:
            _attend(org_id, customer, parent, session, rows.get(session.id))
        if replace:
            for row in rows.values():
                if row.session_id not in wanted_ids and _move(row, ATTENDING, "cancelled"):
                    _release_seat(row)
    return Outcome(parent, [r for r in _rows(org, customer.id, parent.id) if r.status != "cancelled"])


def _attend(org_id: str, customer: Customer, parent: Event, session: Event, row: Participation | None) -> None:
    """Make the customer attend `session`: accept an invitation, re-take a freed place, or take a new one."""
    if row is not None and row.status in ATTENDING:
        return
    if row is not None and row.status == "invited":
        if not _move(row, ["invited"], "accepted", responded_at=utcnow()):
            raise _changed()
        return
    _take_seat(org_id, session)
    if row is not None:
        if not _move(row, FREED, "selected", source="customer"):
            raise _changed()
        return
    try:
        with write_transaction():  # a savepoint: a concurrent duplicate fails alone
            Participation.create(org=org_id, session=session.id, parent=parent.id, customer=customer.id,
                                 email=customer.email, name=customer.name, status="selected")
    except IntegrityError as exc:
        raise _changed() from exc


def _changed() -> Conflict:
    return Conflict("Your participation changed meanwhile; load it again and retry.", type="participation_changed")


# --- staff invite, customers respond -----------------------------------------------------------------------

def invite(org, session_id: str, *, email: str, name: str | None = None, invited_by: str | None = None
           ) -> Participation:
    """Invite the tenant's customer with `email` to a session; the invitation holds a seat until declined.

    404 `customer_not_found` when no account has that email; 409 `already_participating` when the customer
    already attends or is invited; 409 `session_full` when no seat is left.
    """
    org_id = org if isinstance(org, str) else org.id
    session = session_event(org, session_id)
    customer = scoped(Customer, org).where(Customer.email == email.strip().lower()).first()
    if customer is None:
        raise NotFound("No customer account with this email; invitations go to registered customers.",
                       type="customer_not_found")
    with write_transaction():
        row = (scoped(Participation, org)
               .where((Participation.session == session.id) & (Participation.customer == customer.id)).first())
        if row is not None and row.status in SEAT_HOLDING:
            raise Conflict(f"This customer is already {row.status} for this session.", type="already_participating",
                           participantId=row.id, participationStatus=row.status)
        _take_seat(org_id, session)
        values = {"name": (name or "").strip() or customer.name, "invited_by": invited_by, "source": "invite",
                  "responded_at": None}
        if row is not None:
            if not _move(row, FREED, "invited", **values):
                raise _changed()
        else:
            try:
                with write_transaction():
                    row = Participation.create(org=org_id, session=session.id, parent=session.parent_event_id,
                                               customer=customer.id, email=customer.email, status="invited",
                                               **values)
            except IntegrityError as exc:
                raise _changed() from exc
    row.session = session
    return row


def respond(org, customer_id: str, participation_id: str, response: str) -> Participation:
    """Accept or decline an invitation once: a conditional UPDATE on `invited`; a decline frees the seat.

    404 `participation_not_found` for anyone else's; 409 `already_responded` the second time; an accept
    that clashes with another attended session is 409 `sessions_overlap`.
    """
    row = None
    if isinstance(participation_id, str) and len(participation_id) <= 64:
        row = (_with_session(org)
               .where((Participation.id == participation_id) & (Participation.customer == customer_id)).first())
    if row is None:
        raise NotFound(f"No participation with id {participation_id!r} in your account.",
                       type="participation_not_found")
    with write_transaction():
        if response == "accept":
            _lock_customer(row.org_id, customer_id)
            parent = get_scoped(Event, row.org_id, row.parent_id)
            others = [r.session for r in _rows(org, customer_id, parent.id) if r.status in ATTENDING]
            _refuse_overlap(parent, [*others, row.session])
            won = _move(row, ["invited"], "accepted", responded_at=utcnow())
        else:
            won = _move(row, ["invited"], "declined", responded_at=utcnow())
            if won:
                _release_seat(row)
    if not won:
        current = row.reread().status
        raise Conflict(f"This invitation was already answered (it is {current}).", type="already_responded",
                       participationStatus=current)
    return row


# --- reading -----------------------------------------------------------------------------------------------

def my_participation(org, customer_id: str) -> list[Participation]:
    """The customer's selections and invitations across events (not the ones they dropped), soonest first."""
    return list(_with_session(org)
                .where((Participation.customer == customer_id) & (Participation.status != "cancelled"))
                .order_by(Event.starts_at, Event.id).limit(500))


def participants_visibility(org) -> str:
    """The tenant's `participants_visibility` setting: none (default) | names | full."""
    value = (getattr(org, "settings", None) or {}).get("participants_visibility", "none")
    return value if value in VISIBILITIES else "none"


def public_participants(org, event_id: str, *, page: int, limit: int) -> tuple[str, Page]:
    """Who attends a session (or any session of a parent), as far as the tenant shows it to customers.

    Returns (visibility, page of {name, firstName, lastName[, email]}); 403 `participants_hidden` when the
    tenant shows no one. "names" gives first name and last initial; "full" adds the email.
    """
    event = get_scoped(Event, org, event_id, "event")
    visibility = participants_visibility(org)
    if visibility == "none":
        raise ApiError("This organiser does not show who attends its events.", status=403,
                       type="participants_hidden")
    query = (scoped(Participation, org, Participation.customer, fn.MAX(Participation.name).alias("name"),
                    fn.MAX(Participation.email).alias("email"))
             .where(((Participation.session == event.id) | (Participation.parent == event.id))
                    & Participation.status.in_(ATTENDING))
             .group_by(Participation.customer))
    result = paginate_offset(query, PUBLIC_KEYS, page, limit, fetch=lambda q: list(q.dicts()))
    result.rows = [_public_view(r, full=visibility == "full") for r in result.rows]
    return visibility, result


def _split(name: str) -> tuple[str, str]:
    first, _, last = (name or "").strip().partition(" ")
    return first, last.strip()


def _public_view(row: dict, *, full: bool) -> dict:
    first, last = _split(row["name"])
    if not full:
        last = f"{last[:1]}." if last else ""
        return {"name": f"{first} {last}".strip(), "firstName": first, "lastName": last}
    return {"name": row["name"], "firstName": first, "lastName": last, "email": row["email"]}


def session_participants(org, session_id: str, *, page: int, limit: int) -> Page:
    """Staff: a session's participants (attending and invited) in 002's shape plus `status`, oldest first."""
    session = session_event(org, session_id)
    query = (scoped(Participation, org, Participation, Customer).join(Customer, on=along(Participation.customer))
             .where((Participation.session == session.id) & Participation.status.in_(SEAT_HOLDING)))
    result = paginate_offset(query, STAFF_KEYS, page, limit)
    result.rows = [_staff_view(r) for r in result.rows]
    return result


def _staff_view(row: Participation) -> dict:
    first, last = _split(row.name)
    return {"id": row.id, "first_name": first, "last_name": last, "email": row.email,
            "phone": row.customer.phone, "address": None, "confirmed": row.status in ATTENDING,
            "created": iso_utc(row.created_at), "status": row.status, "sessionId": row.session_id,
            "customerId": row.customer_id}


# --- tickets going away -----------------------------------------------------------------------------------

def release_uncovered(tickets: Iterable[Ticket]) -> int:
    """Release the sessions the holders of `tickets` chose that no live ticket of theirs covers any more.

    Call inside the transaction that refunded, cancelled or transferred the tickets (after their status
    changed). Each released participation moves `selected` -> `released` by a conditional UPDATE and gives
    its seat back, so it happens exactly once. Invitations (`invited`, `accepted`) are the organiser's and
    need no ticket, so they stay. Returns how many participations were released.
    """
    owned = [t for t in tickets if t.customer_id]
    if not owned:
        return 0
    events = {e.id: e for e in Event.select(Event.id, Event.type, Event.parent)
              .where((Event.org == owned[0].org_id) & Event.id.in_(list({t.event_id for t in owned})))}
    released = 0
    for ticket in owned:
        event = events.get(ticket.event_id)
        if event is None or (event.type != "parent" and event.parent_event_id is None):
            continue
        scope = (Participation.parent == event.id) if event.type == "parent" else (Participation.session == event.id)
        rows = list(Participation.select().where((Participation.org == ticket.org_id) & scope
                                                 & (Participation.customer == ticket.customer_id)
                                                 & (Participation.status == "selected")))
        if not rows:
            continue
        parent = get_scoped(Event, ticket.org_id, rows[0].parent_id)
        covered = covered_session_ids(ticket.org_id, ticket.customer_id, parent, [r.session_id for r in rows])
        for row in rows:
            if row.session_id not in covered and _move(row, ["selected"], RELEASED):
                _release_seat(row)
                released += 1
    return released

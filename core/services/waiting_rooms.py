"""On-sale waiting rooms: staff switch one on for an event (start, admission rate, pass minutes); buyers join
its queue, read where they stand and, once admitted, get a pass (`core.services.queue_passes`).

The room's rules only: the queue's order and slots are `core.services.waiting_room_queue` (database, or Redis
when `BOXOFFICE_REDIS_URL` is set), the purchase gate is `queue_passes.admission`. Never reads Flask state.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import math
import time
from dataclasses import dataclass

from core.config import current_config
from core.db import is_sqlite, write_transaction
from core.errors import Conflict, NotFound
from core.kits.links import read_signed_link_token, signed_link_token
from core.models import Event, Org, WaitingRoom, new_id, utcnow
from core.services import audit
from core.services.event_queries import get_public_event, public_query
from core.services.queue_passes import issue_pass
from core.services.statements import CompiledQuery, Slot, compile_query
from core.services.waiting_room_queue import (
    DatabaseQueue,
    Placement,
    QueueCounts,
    QueueStore,
    QueueUnavailable,
    start_of,
)
from core.services.waiting_room_redis import redis_queue
from core.tenancy import get_scoped, scoped
from core.timefmt import to_utc_naive

log = logging.getLogger(__name__)

TICKET_PURPOSE = "queue-ticket"
TICKET_MAX_AGE_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True)
class RoomView:
    """A room as staff see it: its settings and the queue's counts now."""

    room: WaitingRoom
    started: bool
    counts: QueueCounts


@dataclass(frozen=True)
class QueueStanding:
    """Where a buyer stands: `before_start` (the random order is fixed at the start), `waiting` (`position`
    entries ahead, admitted at `admits_at`), `admitted` (with its `queue_pass`) or `expired` (the pass ran out)."""

    token: str
    state: str
    position: int | None
    wait_seconds: int | None
    starts_at: dt.datetime
    admits_at: dt.datetime | None
    queue_pass: str | None
    pass_expires_at: dt.datetime | None


def queue_store() -> QueueStore:
    """Redis when the deployment has one (`BOXOFFICE_REDIS_URL`), else the database."""
    url = current_config().redis_url
    return redis_queue(url) if url else DatabaseQueue()


def _at(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).replace(tzinfo=None)


def _room_of(org: Org, event: Event) -> WaitingRoom:
    room = None
    if event.waiting_room_id:
        room = scoped(WaitingRoom, org).where(WaitingRoom.id == event.waiting_room_id).first()
    if room is None:
        raise NotFound("This event has no waiting room.", type="waiting_room_not_found")
    return room


@functools.lru_cache(maxsize=4)
def _public_room_sql(sqlite: bool) -> CompiledQuery:
    """The room of an event customers may see (`public_query`'s rule), compiled once: a join and every standing
    read start with it."""
    return compile_query(
        public_query(Slot("org"), now=Slot("now")).select(*WaitingRoom._meta.sorted_fields)
        .join(WaitingRoom, on=(WaitingRoom.id == Event.waiting_room_id))
        .where((Event.id == Slot("event")) & (WaitingRoom.org == Slot("org"))))


def _public_room(org: Org, event_id: str) -> WaitingRoom:
    """The room of an event customers may see, in one query (404 `event_not_found` for an event they may not
    see, `waiting_room_not_found` for one without a room)."""
    rooms = []
    if isinstance(event_id, str) and len(event_id) <= 64:
        rooms = _public_room_sql(is_sqlite()).rows(WaitingRoom, org=org.id, event=event_id,
                                                   now=Event.published_at.db_value(utcnow()))
    return rooms[0] if rooms else _room_of(org, get_public_event(org, event_id))


# --- staff ------------------------------------------------------------------------------------------

def _settings(room: WaitingRoom | None) -> dict | None:
    """What the audit log keeps of a room."""
    if room is None:
        return None
    return {"startsAt": room.starts_at.isoformat() + "Z", "ratePerSecond": room.rate, "passMinutes": room.pass_minutes}


def describe(org: Org, event_id: str) -> RoomView:
    """The event's room with its counts (404 `event_not_found`, `waiting_room_not_found`)."""
    room = _room_of(org, get_scoped(Event, org, event_id, "event"))
    now = time.time()
    return RoomView(room, now >= start_of(room), queue_store().counts(room, now))


def configure(org: Org, event_id: str, *, starts_at: dt.datetime, rate: float, pass_minutes: int) -> RoomView:
    """Switch the event's room on, or change it: admissions from `starts_at` at `rate` a second, each pass
    valid `pass_minutes`. Once the room has started its start and rate stay (409 `waiting_room_started`:
    switch it off and on again for a new queue); the pass minutes may change at any time."""
    event = get_scoped(Event, org, event_id, "event")
    starts_at = to_utc_naive(starts_at).replace(microsecond=0)
    with write_transaction():
        room = scoped(WaitingRoom, org).where(WaitingRoom.event == event.id).first()
        before = _settings(room)
        if room is None:
            room = WaitingRoom(id=new_id(), org=org.id, event=event.id, starts_at=starts_at, rate=rate,
                               pass_minutes=pass_minutes)
            room.save(force_insert=True)
            Event.update(waiting_room_id=room.id, updated_at=utcnow()).where(
                (Event.org == org.id) & (Event.id == event.id)).execute()
        else:
            if time.time() >= start_of(room) and (starts_at != room.starts_at or rate != room.rate):
                raise Conflict("This waiting room has started: its start and rate are fixed (switch it off "
                               "and on again for a new queue).", type="waiting_room_started")
            room.starts_at, room.rate, room.pass_minutes = starts_at, rate, pass_minutes
            room.save()
        old, new = audit.changes(before or {}, _settings(room))
        if new:
            audit.record(org, "waiting_room.set", "event", event.id, before=None if before is None else old,
                         after=new)
    return describe(org, event.id)


def switch_off(org: Org, event_id: str) -> None:
    """Switch the event's room off: purchases need no pass again, the queue and its passes are gone."""
    room = _room_of(org, get_scoped(Event, org, event_id, "event"))
    with write_transaction():
        Event.update(waiting_room_id=None, updated_at=utcnow()).where(
            (Event.org == org.id) & (Event.id == room.event_id)).execute()
        WaitingRoom.delete().where((WaitingRoom.org == org.id) & (WaitingRoom.id == room.id)).execute()
        audit.record(org, "waiting_room.removed", "event", room.event_id, before=_settings(room))
    try:
        queue_store().forget(room)
    except QueueUnavailable:   # Redis keys expire on their own a week after the last join
        log.warning("could not drop the Redis queue of waiting room %s", room.id)


# --- buyers -----------------------------------------------------------------------------------------

def _standing(org: Org, room: WaitingRoom, token: str, placed: Placement, now: float) -> QueueStanding:
    start = room.starts_at
    if placed.slot is None:
        return QueueStanding(token, "before_start", None, max(0, math.ceil(start_of(room) - now)), start,
                             None, None, None)
    expires = placed.slot + room.pass_minutes * 60
    if now < placed.slot:
        return QueueStanding(token, "waiting", placed.ahead, math.ceil(placed.slot - now), start,
                             _at(placed.slot), None, None)
    if now >= expires:
        return QueueStanding(token, "expired", 0, 0, start, _at(placed.slot), None, _at(expires))
    queue_pass = issue_pass(org.id, room.event_id, room.id, placed.entry_id, expires)
    return QueueStanding(token, "admitted", 0, 0, start, _at(placed.slot), queue_pass, _at(int(expires)))


def join(org: Org, event_id: str) -> QueueStanding:
    """A new place at the back of the event's queue (before the start: in the random order fixed at the start),
    with the token that reads it (404 `event_not_found`, `waiting_room_not_found`)."""
    room = _public_room(org, event_id)
    now = time.time()
    placed = queue_store().join(room, now)
    token = signed_link_token(TICKET_PURPOSE, {"o": org.id, "e": room.event_id, "r": room.id,
                                               "q": placed.entry_id})
    return _standing(org, room, token, placed, now)


def standing(org: Org, event_id: str, token: str) -> QueueStanding:
    """Where the entry of `token` stands now, with its pass once admitted (404 `queue_entry_not_found` for a
    token that is forged, another event's, or of a room since switched off)."""
    room = _public_room(org, event_id)
    data = read_signed_link_token(TICKET_PURPOSE, token[:2048], TICKET_MAX_AGE_SECONDS)
    now = time.time()
    placed = None
    if data and (data.get("o"), data.get("e"), data.get("r")) == (org.id, room.event_id, room.id):
        placed = queue_store().place(room, str(data.get("q")), now)
    if placed is None:
        raise NotFound("No such place in this event's queue; join it again.", type="queue_entry_not_found")
    return _standing(org, room, token, placed, now)

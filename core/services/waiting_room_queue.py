"""The waiting room's queue behind one interface (`QueueStore`): in the database (`DatabaseQueue`, here) or in
Redis (`core.services.waiting_room_redis`); `core.services.waiting_rooms.queue_store()` picks one.

The order is the same in both: everyone who joined before the start in a random order (a random draw each,
fixed at the start), then everyone later in join order, one admission slot every 1/rate seconds. Never decides
who may buy (that is `core.services.queue_passes`) and never reads Flask state.
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass
from typing import Protocol

from peewee import Case, fn

from core.db import is_sqlite, write_transaction
from core.errors import ApiError
from core.models import QueueEntry, WaitingRoom, new_id
from core.timefmt import as_utc

DRAW_BITS = 62
"""The random draw of an entry that joins before the start (its place in the order fixed at the start)."""


class QueueUnavailable(ApiError):
    """503 `queue_unavailable`: the queue's store (Redis) did not answer; nothing was changed, retry."""

    status, type = 503, "queue_unavailable"


@dataclass(frozen=True)
class Placement:
    """Where one entry stands: its admission time (`slot`, seconds since the epoch) and how many entries ahead
    of it are still waiting (`ahead`); both None while the start that fixes the random order has not come."""

    entry_id: str
    slot: float | None
    ahead: int | None


@dataclass(frozen=True)
class QueueCounts:
    """How many joined a room's queue and how many of them have been admitted by now."""

    joined: int
    admitted: int


class QueueStore(Protocol):
    """What a queue backend does; `now` is seconds since the epoch, read once by the caller."""

    def join(self, room: WaitingRoom, now: float) -> Placement:
        """Add a new entry at the back (before the start: at a random place in the start's order)."""

    def place(self, room: WaitingRoom, entry_id: str, now: float) -> Placement | None:
        """Where `entry_id` stands now; None when the room has no such entry."""

    def counts(self, room: WaitingRoom, now: float) -> QueueCounts:
        """The room's joined and admitted counts."""

    def forget(self, room: WaitingRoom) -> None:
        """Drop the room's entries (the room is switched off)."""


# --- the order's arithmetic, shared by both backends ----------------------------------------------

def start_of(room: WaitingRoom) -> float:
    """The room's start in seconds since the epoch."""
    return as_utc(room.starts_at).timestamp()


def gap_of(room: WaitingRoom) -> float:
    """Seconds between two admissions."""
    return 1.0 / room.rate


def new_draw() -> int:
    """A random draw for an entry that joins before the start."""
    return secrets.randbits(DRAW_BITS)


def first_slot_after_start(room: WaitingRoom, pre_count: int) -> float:
    """The slot of the last entry of the start's random order (one gap before the start when nobody joined
    early): the next joiner's slot follows it."""
    return start_of(room) + (pre_count - 1) * gap_of(room)


def next_slot(last_slot: float, now: float, gap: float) -> float:
    """A new entry's slot: one gap after the last one handed out, or now when the queue has caught up."""
    return max(now, last_slot + gap)


def _early_admitted(room: WaitingRoom, pre_count: int, now: float) -> int:
    """How many of the start's random order have been admitted by `now` (slot `start + rank * gap <= now`)."""
    start = start_of(room)
    if now < start:
        return 0
    return min(pre_count, math.floor((now - start) * room.rate + 1e-9) + 1)


def placement(room: WaitingRoom, entry_id: str, now: float, *, pre_count: int, rank: int | None = None,
              slot: float | None = None, later_ahead: int = 0) -> Placement:
    """An entry's placement from the backend's facts: an early entry's `rank` in the random order, or a later
    entry's `slot` and `later_ahead` (later entries with a slot between now and its own)."""
    if slot is None:
        if now < start_of(room) or rank is None:
            return Placement(entry_id, None, None)
        slot, early_before = start_of(room) + rank * gap_of(room), rank
    else:
        early_before = pre_count
    ahead = max(0, early_before - _early_admitted(room, pre_count, now)) + later_ahead
    return Placement(entry_id, slot, ahead)


def counts(room: WaitingRoom, now: float, *, pre_count: int, later: int, later_admitted: int) -> QueueCounts:
    """The joined and admitted counts from the backend's: early entries, later ones, later ones admitted."""
    return QueueCounts(pre_count + later, _early_admitted(room, pre_count, now) + later_admitted)


# --- the database backend ---------------------------------------------------------------------------

class DatabaseQueue:
    """The queue as `queue_entry` rows; every join and the start's freeze lock the room's row (on SQLite the
    write transaction already serialises them), so slots are handed out one at a time."""

    def _locked(self, room: WaitingRoom) -> WaitingRoom:
        query = WaitingRoom.select().where((WaitingRoom.org == room.org_id) & (WaitingRoom.id == room.id))
        return (query if is_sqlite() else query.for_update()).get()

    def _entries(self, room: WaitingRoom):
        return QueueEntry.select().where((QueueEntry.org == room.org_id) & (QueueEntry.room == room.id))

    def _freeze(self, state: WaitingRoom) -> WaitingRoom:
        """Fix the start's random order (inside the locked transaction, once the start has come)."""
        state.pre_count = self._entries(state).where(QueueEntry.slot.is_null()).count()
        state.last_slot, state.frozen = first_slot_after_start(state, state.pre_count), True
        WaitingRoom.update(frozen=True, pre_count=state.pre_count, last_slot=state.last_slot).where(
            (WaitingRoom.org == state.org_id) & (WaitingRoom.id == state.id)).execute()
        return state

    def _frozen(self, room: WaitingRoom, now: float) -> WaitingRoom:
        """The room's state, frozen first when the start has come and nobody froze it yet."""
        if room.frozen or now < start_of(room):
            return room
        with write_transaction():
            state = self._locked(room)
            return state if state.frozen else self._freeze(state)

    def _later_ahead(self, room: WaitingRoom, now: float, slot: float) -> int:
        return self._entries(room).where((QueueEntry.slot > now) & (QueueEntry.slot < slot)).count()

    def join(self, room: WaitingRoom, now: float) -> Placement:
        """Insert the entry under the room's lock: a draw before the start, else the next slot."""
        entry_id = new_id()
        with write_transaction():
            state = self._locked(room)
            if not state.frozen and now < start_of(state):
                QueueEntry.insert(id=entry_id, org=state.org_id, room=state.id, draw=new_draw()).execute()
                return Placement(entry_id, None, None)
            if not state.frozen:
                state = self._freeze(state)
            slot = next_slot(state.last_slot, now, gap_of(state))
            WaitingRoom.update(last_slot=slot).where(
                (WaitingRoom.org == state.org_id) & (WaitingRoom.id == state.id)).execute()
            QueueEntry.insert(id=entry_id, org=state.org_id, room=state.id, slot=slot).execute()
        return placement(state, entry_id, now, pre_count=state.pre_count, slot=slot,
                         later_ahead=self._later_ahead(state, now, slot))

    def place(self, room: WaitingRoom, entry_id: str, now: float) -> Placement | None:
        """An early entry's rank (draws before its own), or a later entry's slot and who is between."""
        state = self._frozen(room, now)
        entry = self._entries(state).where(QueueEntry.id == entry_id).first()
        if entry is None:
            return None
        if entry.slot is not None:
            return placement(state, entry_id, now, pre_count=state.pre_count, slot=entry.slot,
                             later_ahead=self._later_ahead(state, now, entry.slot))
        rank = self._entries(state).where(QueueEntry.slot.is_null() & (
            (QueueEntry.draw < entry.draw) | ((QueueEntry.draw == entry.draw) & (QueueEntry.id < entry.id)))).count()
        return placement(state, entry_id, now, pre_count=state.pre_count, rank=rank)

    def counts(self, room: WaitingRoom, now: float) -> QueueCounts:
        """Early entries (counted at the start, or so far), later ones and the later ones admitted."""
        state = self._frozen(room, now)
        pre_count = state.pre_count if state.frozen else self._entries(state).count()
        admitted = fn.SUM(Case(None, [(QueueEntry.slot <= now, 1)], 0))
        row = QueueEntry.select(fn.COUNT(QueueEntry.id), admitted).where(
            (QueueEntry.org == state.org_id) & (QueueEntry.room == state.id) & QueueEntry.slot.is_null(False)
        ).tuples().first()
        return counts(state, now, pre_count=pre_count, later=row[0] or 0, later_admitted=int(row[1] or 0))

    def forget(self, room: WaitingRoom) -> None:
        """Delete the room's entries."""
        QueueEntry.delete().where((QueueEntry.org == room.org_id) & (QueueEntry.room == room.id)).execute()


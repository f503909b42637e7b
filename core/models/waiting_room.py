"""On-sale waiting rooms: an event's room (start, admission rate, pass lifetime), the queue's entries when the
queue lives in the database, and the record that a queue pass bought once.

Columns only; the rules are in `core.services.waiting_rooms`, the queue's arithmetic in
`core.services.waiting_room_queue` (and its Redis twin), and a pass is spent only by `core.services.queue_passes`.
"""

from __future__ import annotations

from peewee import BigIntegerField, BooleanField, CharField, DoubleField, ForeignKeyField, IntegerField

from core.models.base import DateTimeField
from core.models.catalog import Event
from core.models.tenant import TenantModel


class WaitingRoom(TenantModel):
    """An event's waiting room: buyers queue from any time, are admitted from `starts_at` at `rate` a second, and
    each admitted buyer's pass lasts `pass_minutes`. The event's `waiting_room_id` names it while it is on.

    `frozen`, `pre_count` and `last_slot` are the database queue's state: whether the random order of everyone
    who joined before the start has been fixed, how many they were, and the latest admission slot handed out
    (seconds since the epoch). The Redis queue keeps the same three in Redis.
    """

    event = ForeignKeyField(Event, column_name="event_id", on_delete="CASCADE")
    starts_at = DateTimeField()
    rate = DoubleField()
    pass_minutes = IntegerField(default=10)
    frozen = BooleanField(default=False)
    pre_count = IntegerField(default=0)
    last_slot = DoubleField(null=True)

    class Meta:
        table_name = "waiting_room"
        indexes = ((("org", "event"), True),)


class QueueEntry(TenantModel):
    """One buyer's place in a room's queue (database queue only). Joined before the start: a random `draw`
    (the order at the start) and no `slot` until the start fixes it; joined later: its `slot` at once.
    `slot` is the admission time in seconds since the epoch."""

    room = ForeignKeyField(WaitingRoom, column_name="room_id", on_delete="CASCADE")
    draw = BigIntegerField(null=True)
    slot = DoubleField(null=True)

    class Meta:
        table_name = "queue_entry"
        indexes = ((("org", "room", "draw"), False), (("org", "room", "slot"), False))


class QueuePassUse(TenantModel):
    """A queue entry's pass, spent by the purchase that made `booking_id` (its id is the entry's id, so a pass
    buys once, whichever queue backend admitted it)."""

    event_id = CharField(max_length=36)
    booking_id = CharField(max_length=36)

    class Meta:
        table_name = "queue_pass_use"

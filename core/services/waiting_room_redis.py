"""The waiting room's queue in Redis: the same order and slots as the database queue
(`core.services.waiting_room_queue`), each join and read one atomic Lua script.

Keys per room (`<queue name>:waiting-room:<room id>:...`, kept 7 days after the last join): `state` (a hash:
`frozen`, `pre` = how many joined before the start, `last` = the latest slot), `early` (a sorted set of the
entries that joined before the start, scored by their random draw) and `later` (a sorted set of the rest,
scored by their slot). Never touches the database; a Redis error is 503 `queue_unavailable`.
"""

from __future__ import annotations

import functools

import redis

from core.config import current_config
from core.models import WaitingRoom, new_id
from core.services.waiting_room_queue import (
    Placement,
    QueueCounts,
    QueueUnavailable,
    counts,
    gap_of,
    new_draw,
    placement,
    start_of,
)

KEEP_SECONDS = 7 * 24 * 3600

# Every script takes KEYS = state, early, later and ARGV[1..3] = now, start, gap. The freeze below is the Lua
# form of `DatabaseQueue._freeze` and the join's slot that of `waiting_room_queue.next_slot` and
# `first_slot_after_start`: change them together.
_FREEZE = """
local now, start, gap = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local frozen = redis.call('HGET', KEYS[1], 'frozen')
if not frozen and now >= start then
  local pre = redis.call('ZCARD', KEYS[2])
  redis.call('HSET', KEYS[1], 'frozen', '1', 'pre', pre, 'last', string.format('%.17g', start + (pre - 1) * gap))
  frozen = '1'
end
local pre = frozen and redis.call('HGET', KEYS[1], 'pre') or tostring(redis.call('ZCARD', KEYS[2]))
"""

# ARGV[4] = entry id, ARGV[5] = its draw, ARGV[6] = seconds to keep the keys
_JOIN = _FREEZE + """
local answer = {'early'}
if not frozen then
  redis.call('ZADD', KEYS[2], ARGV[5], ARGV[4])
else
  local slot = string.format('%.17g', math.max(now, tonumber(redis.call('HGET', KEYS[1], 'last')) + gap))
  redis.call('HSET', KEYS[1], 'last', slot)
  redis.call('ZADD', KEYS[3], slot, ARGV[4])
  answer = {'later', slot, redis.call('ZCOUNT', KEYS[3], '(' .. ARGV[1], '(' .. slot), pre}
end
for i = 1, 3 do redis.call('EXPIRE', KEYS[i], ARGV[6]) end
return answer
"""

# ARGV[4] = entry id
_PLACE = _FREEZE + """
local slot = redis.call('ZSCORE', KEYS[3], ARGV[4])
if slot then
  return {'later', slot, redis.call('ZCOUNT', KEYS[3], '(' .. ARGV[1], '(' .. slot), pre}
end
local rank = redis.call('ZRANK', KEYS[2], ARGV[4])
if rank then return {'early', tostring(rank), 0, pre} end
return false
"""

_COUNTS = _FREEZE + """
return {pre, redis.call('ZCARD', KEYS[3]), redis.call('ZCOUNT', KEYS[3], '-inf', ARGV[1])}
"""


class RedisQueue:
    """The queue in Redis; one client (its own connection pool) per process."""

    def __init__(self, client: redis.Redis, prefix: str):
        self.client, self.prefix = client, prefix
        self._join, self._place, self._counts = (client.register_script(s) for s in (_JOIN, _PLACE, _COUNTS))

    def _keys(self, room: WaitingRoom) -> list[str]:
        base = f"{self.prefix}:waiting-room:{room.id}"
        return [f"{base}:state", f"{base}:early", f"{base}:later"]

    def _run(self, script, room: WaitingRoom, now: float, *args):
        try:
            return script(keys=self._keys(room), args=[repr(now), repr(start_of(room)), repr(gap_of(room)), *args])
        except redis.RedisError as exc:
            raise QueueUnavailable("The queue is unavailable for a moment; nothing was changed, try again.") \
                from exc

    def _placement(self, room: WaitingRoom, entry_id: str, now: float, reply) -> Placement:
        kind, value, between, pre = reply[0].decode(), reply[1], int(reply[2]), int(reply[3])
        if kind == "early":
            return placement(room, entry_id, now, pre_count=pre, rank=int(value))
        return placement(room, entry_id, now, pre_count=pre, slot=float(value), later_ahead=between)

    def join(self, room: WaitingRoom, now: float) -> Placement:
        """One script: a draw before the start, else the next slot."""
        entry_id = new_id()
        reply = self._run(self._join, room, now, entry_id, str(new_draw()), str(KEEP_SECONDS))
        if len(reply) == 1:
            return Placement(entry_id, None, None)
        return self._placement(room, entry_id, now, reply)

    def place(self, room: WaitingRoom, entry_id: str, now: float) -> Placement | None:
        """One script: the entry's slot and who is between, or its rank in the start's order."""
        reply = self._run(self._place, room, now, entry_id)
        return None if reply is None else self._placement(room, entry_id, now, reply)

    def counts(self, room: WaitingRoom, now: float) -> QueueCounts:
        """One script: early entries, later ones and the later ones admitted."""
        pre, later, admitted = (int(value) for value in self._run(self._counts, room, now))
        return counts(room, now, pre_count=pre, later=later, later_admitted=admitted)

    def forget(self, room: WaitingRoom) -> None:
        """Delete the room's keys."""
        try:
            self.client.delete(*self._keys(room))
        except redis.RedisError as exc:
            raise QueueUnavailable("The queue is unavailable for a moment; nothing was changed, try again.") \
                from exc


@functools.lru_cache(maxsize=4)
def redis_queue(url: str) -> RedisQueue:
    """The process's Redis queue for `url` (made once)."""
    return RedisQueue(redis.Redis.from_url(url, socket_timeout=5), current_config().queue_name)

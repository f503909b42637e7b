"""Server-side prepared statements for PostgreSQL, the way psycopg 3 does them and psycopg2 does not.

A statement text run a second time on a connection is PREPAREd there; from then on it runs as
`EXECUTE name(...)`, so PostgreSQL parses and plans it once per connection instead of on every call. On the
hot paths (check-in, purchase, the event list) planning cost more server CPU than running the statement.

Only plain DML/SELECT is prepared, with positional `%s` or named `%(name)s` parameters. A text
PostgreSQL cannot prepare (say, a parameter whose type it cannot infer) is remembered and always run as it
is; inside a transaction the
PREPARE is wrapped in a savepoint, so a refusal never aborts the caller's transaction. Each connection
keeps at most `limit` statements (least recently used ones are DEALLOCATEd). Schema changes need nothing:
PostgreSQL re-plans a prepared statement whose tables changed.

Turn it off with `BOXOFFICE_PG_PREPARE=0` behind a pooler that does not keep sessions (PgBouncer in
transaction mode).
"""

from __future__ import annotations

import re
import weakref
from collections import OrderedDict

_PREPARABLE = ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH")
_PLACEHOLDER = re.compile(r"%s|%\((\w+)\)s|%%")
_UNPREPARABLE = ""  # marks a text that failed to prepare on this connection


def positional_sql(sql: str) -> tuple[str, int | tuple[str, ...]] | None:
    """`sql` with psycopg2's placeholders numbered `$1..$n` (and `%%` unescaped), with how to order the
    parameters: their count for `%s`, the names in `$n` order for `%(name)s` (a name used twice is one
    parameter). None if it cannot be prepared (not DML/SELECT, or both placeholder styles)."""
    if not sql.lstrip()[:6].upper().startswith(_PREPARABLE):
        return None
    count = 0
    names: dict[str, int] = {}

    def number(match: re.Match) -> str:
        nonlocal count
        text, name = match.group(), match.group(1)
        if text == "%%":
            return "%"
        if name is None:
            count += 1
            return f"${count}"
        names.setdefault(name, len(names) + 1)
        return f"${names[name]}"

    converted = _PLACEHOLDER.sub(number, sql)
    if count and names:
        return None
    return converted, tuple(names) if names else count


class _ConnectionStatements:
    """What one connection has prepared: statement text -> (name, its EXECUTE text, parameter order) or
    `_UNPREPARABLE`, in LRU order."""

    def __init__(self) -> None:
        self.names: OrderedDict[str, tuple | str] = OrderedDict()
        self.seen: dict[str, int] = {}
        self.counter = 0


def _fits(order: int | tuple[str, ...], params) -> bool:
    """True when `params` supply exactly the placeholders (a list for `%s`, a dict for `%(name)s`)."""
    if isinstance(order, tuple):
        return isinstance(params, dict) and set(order) <= set(params)
    return isinstance(params, list | tuple) and len(params) == order


class StatementCache:
    """Prepares repeated statements per connection and runs them with EXECUTE."""

    def __init__(self, limit: int = 256, threshold: int = 2):
        self.limit = limit
        self.threshold = threshold
        self._connections: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def execute(self, cursor, sql: str, params) -> None:
        """Run `sql` with `params` on `cursor`, as a prepared statement once it has been seen often enough."""
        params = params or ()
        state = self._connections.get(cursor.connection)
        if state is None:
            state = self._connections[cursor.connection] = _ConnectionStatements()
        entry = state.names.get(sql)
        if entry is None:
            entry = self._maybe_prepare(cursor, state, sql, params)
        if not entry:
            cursor.execute(sql, params)
            return
        state.names.move_to_end(sql)
        _, execute, order = entry
        if isinstance(order, tuple):
            params = [params[key] for key in order]
        cursor.execute(execute, params)

    def prepared_count(self, connection) -> int:
        """How many statements are prepared on `connection` (for tests and diagnostics)."""
        state = self._connections.get(connection)
        return sum(1 for name in state.names.values() if name) if state else 0

    def _maybe_prepare(self, cursor, state: _ConnectionStatements, sql: str, params) -> tuple | None:
        seen = state.seen.get(sql, 0) + 1
        if seen < self.threshold:
            if len(state.seen) >= self.limit * 4:
                state.seen.clear()
            state.seen[sql] = seen
            return None
        state.seen.pop(sql, None)
        converted = positional_sql(sql)
        if converted is None or not _fits(converted[1], params):
            state.names[sql] = _UNPREPARABLE
            return None
        import psycopg2  # only ever reached on PostgreSQL

        status = cursor.connection.get_transaction_status()
        if status not in (psycopg2.extensions.TRANSACTION_STATUS_IDLE, psycopg2.extensions.TRANSACTION_STATUS_INTRANS):
            return None
        self._evict(cursor, state)
        state.counter += 1
        name = f"bo_{state.counter}"
        in_transaction = status == psycopg2.extensions.TRANSACTION_STATUS_INTRANS
        try:
            if in_transaction:
                cursor.execute("SAVEPOINT bo_prepare")
            cursor.execute(f"PREPARE {name} AS {converted[0]}")
            if in_transaction:
                cursor.execute("RELEASE SAVEPOINT bo_prepare")
        except psycopg2.Error:
            if in_transaction:
                cursor.execute("ROLLBACK TO SAVEPOINT bo_prepare")
                cursor.execute("RELEASE SAVEPOINT bo_prepare")
            state.names[sql] = _UNPREPARABLE
            return None
        order = converted[1]
        count = len(order) if isinstance(order, tuple) else order
        execute = f"EXECUTE {name}({', '.join(['%s'] * count)})" if count else f"EXECUTE {name}"
        state.names[sql] = (name, execute, order)
        return state.names[sql]

    def _evict(self, cursor, state: _ConnectionStatements) -> None:
        while len(state.names) >= self.limit:
            _, entry = state.names.popitem(last=False)
            if entry:
                cursor.execute(f"DEALLOCATE {entry[0]}")

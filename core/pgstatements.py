"""Server-side prepared statements for PostgreSQL, the way psycopg 3 does them and psycopg2 does not.

A statement text run a second time on a connection is PREPAREd there; from then on it runs as
`EXECUTE name(...)`, so PostgreSQL parses and plans it once per connection instead of on every call. On the
hot paths (check-in, purchase, the event list) planning cost more server CPU than running the statement.

Only plain DML/SELECT with positional `%s` parameters is prepared. A text PostgreSQL cannot prepare (say, a
parameter whose type it cannot infer) is remembered and always run as it is; inside a transaction the
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
_PLACEHOLDER = re.compile(r"%s|%%")
_UNPREPARABLE = ""  # marks a text that failed to prepare on this connection


def positional_sql(sql: str) -> tuple[str, int] | None:
    """`sql` with psycopg2's `%s` placeholders numbered `$1..$n` (and `%%` unescaped), with n; None if it
    cannot be prepared (not DML/SELECT, or named `%(x)s` parameters)."""
    if not sql.lstrip()[:6].upper().startswith(_PREPARABLE) or "%(" in sql:
        return None
    count = 0

    def number(match: re.Match) -> str:
        nonlocal count
        if match.group() == "%%":
            return "%"
        count += 1
        return f"${count}"

    return _PLACEHOLDER.sub(number, sql), count


class _ConnectionStatements:
    """What one connection has prepared: statement text -> name (or `_UNPREPARABLE`), in LRU order."""

    def __init__(self) -> None:
        self.names: OrderedDict[str, str] = OrderedDict()
        self.seen: dict[str, int] = {}
        self.counter = 0


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
        name = state.names.get(sql)
        if name is None and isinstance(params, list | tuple):
            name = self._maybe_prepare(cursor, state, sql, len(params))
        if not name:
            cursor.execute(sql, params)
            return
        state.names.move_to_end(sql)
        placeholders = ", ".join(["%s"] * len(params))
        cursor.execute(f"EXECUTE {name}({placeholders})" if params else f"EXECUTE {name}", params)

    def prepared_count(self, connection) -> int:
        """How many statements are prepared on `connection` (for tests and diagnostics)."""
        state = self._connections.get(connection)
        return sum(1 for name in state.names.values() if name) if state else 0

    def _maybe_prepare(self, cursor, state: _ConnectionStatements, sql: str, n_params: int) -> str | None:
        seen = state.seen.get(sql, 0) + 1
        if seen < self.threshold:
            if len(state.seen) >= self.limit * 4:
                state.seen.clear()
            state.seen[sql] = seen
            return None
        state.seen.pop(sql, None)
        converted = positional_sql(sql)
        if converted is None or converted[1] != n_params:
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
        state.names[sql] = name
        return name

    def _evict(self, cursor, state: _ConnectionStatements) -> None:
        while len(state.names) >= self.limit:
            _, name = state.names.popitem(last=False)
            if name:
                cursor.execute(f"DEALLOCATE {name}")

"""The database handle: one peewee DatabaseProxy bound at start-up, and write transactions.

Nothing here knows about HTTP or tenants; callers open one write transaction per service call.
"""

from __future__ import annotations

import contextlib
import logging
import select
import threading
from collections.abc import Callable, Iterator
from urllib.parse import urlparse

from peewee import Database, DatabaseProxy, InterfaceError, OperationalError, SqliteDatabase, __exception_wrapper__
from playhouse.db_url import connect, parse
from playhouse.pool import MaxConnectionsExceeded, PooledSqliteDatabase
from playhouse.postgres_ext import PooledPsycopg3Database, Psycopg3ExtAdapter

db = DatabaseProxy()
log = logging.getLogger(__name__)
_pending = threading.local()

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "busy_timeout": 10000,
    "foreign_keys": 1,
    "synchronous": "normal",
    "cache_size": -32000,
}


CONNECT_TIMEOUT_SECONDS = 5
"""How long opening a PostgreSQL connection may take before the database counts as down (the default of the
`BOXOFFICE_DB_CONNECT_TIMEOUT` setting)."""

SERVER_GONE_STATES = ("08", "57P", "53300")
"""SQLSTATE prefixes of a server that cannot serve now: connection exceptions, a shutdown or a terminated
backend, too many connections."""

SQLITE_BUSY_MESSAGES = ("database is locked", "database is busy")


def _driver_error(error: BaseException) -> BaseException:
    """The driver's exception behind peewee's wrappers (`orig`; peewee wraps again when an error passes two of
    its `__exception_wrapper__` blocks)."""
    while getattr(error, "orig", None) is not None:
        error = error.orig
    return error


def connection_lost(error: BaseException) -> bool:
    """True when `error` says the connection or the server went away (a terminated backend, a refused or timed
    out connect, a server shutting down), as opposed to a statement the server refused."""
    if not isinstance(error, (OperationalError, InterfaceError)):
        return False
    inner = _driver_error(error)
    sqlstate = getattr(inner, "sqlstate", "")
    if sqlstate is None:  # psycopg: an error on the client side of the connection (closed, refused, timed out)
        return isinstance(error, OperationalError)
    return bool(sqlstate) and sqlstate.startswith(SERVER_GONE_STATES)


def database_unavailable(error: BaseException) -> bool:
    """True when `error` means the database cannot serve for now (down, unreachable, every pooled connection
    taken, SQLite locked beyond its busy timeout): worth a retry later, not a bug."""
    if isinstance(error, MaxConnectionsExceeded) or connection_lost(error):
        return True
    return isinstance(error, OperationalError) and str(_driver_error(error)).startswith(SQLITE_BUSY_MESSAGES)


PG_PREPARE_THRESHOLD = 2
"""A statement text run this many times on a connection is prepared there by psycopg 3 (parsed and planned
once per connection instead of on every call)."""


class IdleCheckAdapter(Psycopg3ExtAdapter):
    """peewee's psycopg 3 adapter with a pool check that costs no round trip for a healthy idle connection."""

    def is_connection_closed(self, conn) -> bool:
        """Whether a pooled connection is dead. An idle connection's server sends nothing unasked except when it
        goes away (a terminated backend writes its FATAL message and closes), so a socket with nothing to read
        is alive; peewee's `SELECT 1` runs only when there is something to read or the connection is not
        idle, where it reads the news or rolls back."""
        if conn.closed or conn.broken:
            return True
        if self.txn_status(conn) == self.txn_idle:
            readable, _, _ = select.select([conn.fileno()], [], [], 0)
            if not readable:
                return False
        return super().is_connection_closed(conn)


class PooledPostgres(PooledPsycopg3Database):
    """peewee's psycopg 3 pool with `IdleCheckAdapter`'s check on checkout, and one retry on a fresh connection
    when a checked-out connection turns out dead on its first statement (nothing was sent on it yet)."""

    psycopg3_adapter = IdleCheckAdapter

    def connect(self, reuse_if_open: bool = False) -> bool:
        """Check a connection out of the pool (peewee's `connect`) and mark it unused."""
        opened = super().connect(reuse_if_open)
        if opened:
            self._state.unused = True
        return opened

    def _first_statement(self, run: Callable):
        """Run one statement; if it is the first on this checkout, outside any transaction, and the connection
        is found dead, discard it and run the statement once more on a fresh one. Anything later (a second
        statement, one inside a transaction) fails as it is: what came before may have been written."""
        state = self._state
        if state.closed and self.autoconnect:  # check out here, not inside `run`, so the flag is current
            self.connect()
        if not getattr(state, "unused", False):
            return run()
        state.unused = False
        try:
            return run()
        except (OperationalError, InterfaceError) as error:
            if self.in_transaction() or not connection_lost(error):
                raise
            log.warning("database connection lost before its first statement; retrying on a new one: %s", error)
            self.manual_close()
            self.connect()
            self._state.unused = False
            return run()

    def execute_sql(self, sql, params=None, **options):
        """peewee's `execute_sql` through `_first_statement`."""
        return self._first_statement(lambda: super(PooledPostgres, self).execute_sql(sql, params, **options))

    def begin(self, isolation_level=None):
        """peewee's BEGIN through `_first_statement` (a transaction's BEGIN may be a request's first
        statement; nothing is written yet when it fails)."""
        return self._first_statement(lambda: super(PooledPostgres, self).begin(isolation_level))

    def execute_numbered(self, sql: str, params: list):
        """Run `$n` text through psycopg's raw cursor (see the module's `execute_numbered`)."""
        from psycopg import RawCursor

        def run():
            with __exception_wrapper__:
                cursor = RawCursor(self.connection())
                cursor.execute(sql, params)
            return cursor

        return self._first_statement(run)


def make_database(url: str, prepare: bool = True, connect_timeout: int = CONNECT_TIMEOUT_SECONDS) -> Database:
    """Open (lazily) the database named by `url`: pooled SQLite in WAL mode or pooled PostgreSQL on psycopg 3.

    On PostgreSQL a statement run `PG_PREPARE_THRESHOLD` times on a connection becomes a server-side prepared
    statement; `prepare=False` turns that off (PgBouncer in transaction pooling mode does not keep sessions).
    Connections are taken from the pool on first use in a request and returned at its end; peewee's pool
    checks a pooled connection before handing it out (without a round trip, `IdleCheckAdapter`) and discards
    one the server dropped; a connection that dies before its first statement is replaced and the statement
    retried once (`PooledPostgres`). Opening a PostgreSQL connection gives up after `connect_timeout` seconds.
    """
    scheme = urlparse(url).scheme
    if scheme == "sqlite":
        path = url.split("sqlite:///", 1)[-1]
        return PooledSqliteDatabase(path, pragmas=SQLITE_PRAGMAS, timeout=10, max_connections=64,
                                    stale_timeout=600, autoconnect=True, check_same_thread=False)
    if scheme in {"postgres", "postgresql"}:
        return PooledPostgres(autoconnect=True, max_connections=64, stale_timeout=600,
                              prepare_threshold=PG_PREPARE_THRESHOLD if prepare else None,
                              **{"connect_timeout": connect_timeout, **parse(url)})
    return connect(url, autoconnect=True)


def bind_database(database: Database) -> None:
    """Point every model at `database` (through the proxy)."""
    db.initialize(database)


def is_sqlite() -> bool:
    """True when the bound database is SQLite."""
    return isinstance(db.obj, SqliteDatabase)


def execute_numbered(sql: str, params: list):
    """PostgreSQL: run `sql` written with `$1, $2, ...` placeholders on this thread's connection, sent as it
    is (psycopg's raw cursor; prepared like any statement once seen `PG_PREPARE_THRESHOLD` times), with
    peewee's error types. Returns the cursor."""
    return db.obj.execute_numbered(sql, params)


@contextlib.contextmanager
def _begin():
    if is_sqlite():
        with db.obj.atomic("IMMEDIATE"):
            yield
    else:
        with db.atomic():
            yield


def _open_outermost() -> None:
    """Fresh per-transaction state for a new outermost transaction."""
    _pending.callbacks, _pending.before, _pending.values = [], [], {}


def _run_before_commit() -> None:
    """Inside the outermost transaction, just before its COMMIT: the `before_commit` callbacks, in order."""
    while _pending.before:
        _pending.before.pop(0)()


def _drop_outermost() -> None:
    """The outermost transaction rolled back: its callbacks and values go with it."""
    _pending.callbacks, _pending.before, _pending.values = [], [], None


def _committed_outermost() -> None:
    """The outermost transaction committed: run its `after_commit` callbacks."""
    callbacks, _pending.callbacks, _pending.values = _pending.callbacks, [], None
    for callback in callbacks:
        callback()


class HeldTransaction:
    """A write transaction that outlives the `write_transaction` blocks inside it, so a caller can add its
    own last write (an idempotency key's stored answer) and commit everything at once.

    Inside `held_transaction()`, the first outermost `write_transaction` begins it and leaves it open; later
    ones nest in it as savepoints. `commit()` commits what is held (`before_commit` callbacks first, inside
    it; `after_commit` callbacks once committed), `rollback()` drops it; the next write begins a new one.
    """

    def __init__(self) -> None:
        self._stack: contextlib.ExitStack | None = None

    @property
    def open(self) -> bool:
        """True while a transaction is held (written in and not yet committed or rolled back)."""
        return self._stack is not None

    def join(self) -> None:
        """Begin the held transaction unless one is open (a write outside `write_transaction` joins it)."""
        if self._stack is None:
            stack = contextlib.ExitStack()
            stack.enter_context(_begin())
            self._stack = stack
            _open_outermost()

    def commit(self) -> None:
        """Commit the held transaction, if any, then run its `after_commit` callbacks."""
        if self._stack is None:
            return
        try:
            _run_before_commit()
        except BaseException:
            self.rollback()
            raise
        stack, self._stack = self._stack, None
        try:
            stack.close()
        except BaseException:
            _drop_outermost()
            raise
        # The callbacks run outside the hold: work they do at once (a job run inline) commits on its own
        # instead of joining a held transaction that the request may still roll back.
        held, _pending.held = getattr(_pending, "held", None), None
        try:
            _committed_outermost()
        finally:
            _pending.held = held

    def rollback(self) -> None:
        """Roll the held transaction back, if any (its callbacks and values are dropped)."""
        stack, self._stack = self._stack, None
        if stack is not None:
            _drop_outermost()
            stack.__exit__(_RolledBack, _RolledBack(), None)


class _RolledBack(Exception):
    """Thrown into a held transaction's block to roll it back."""


@contextlib.contextmanager
def held_transaction() -> Iterator[HeldTransaction]:
    """Hold this thread's write transactions open (see `HeldTransaction`) until the caller commits; whatever
    is still held when the block ends is rolled back."""
    held, previous = HeldTransaction(), getattr(_pending, "held", None)
    _pending.held = held
    try:
        yield held
    finally:
        _pending.held = previous
        held.rollback()


@contextlib.contextmanager
def write_transaction() -> Iterator[None]:
    """A write transaction: BEGIN IMMEDIATE on SQLite (no lock upgrade failures), plain on PostgreSQL.

    Nested calls become savepoints. Callbacks registered with `before_commit` inside the outermost one run
    last inside it (their writes commit with it); those registered with `after_commit` run once it has
    committed. Both are dropped if it rolls back, and so are its `transaction_value`s. Inside
    `held_transaction()` the outermost one joins the held transaction and leaves it open (an error inside
    rolls all of it back); the callbacks then run when the held transaction commits.
    """
    held = getattr(_pending, "held", None)
    if held is not None and not db.in_transaction():
        held.join()
        try:
            yield
        except BaseException:
            held.rollback()
            raise
        return
    outermost = not db.in_transaction()
    if outermost:
        _open_outermost()
    try:
        with _begin():
            yield
            if outermost:
                _run_before_commit()
    except BaseException:
        if outermost:
            _drop_outermost()
        raise
    if outermost:
        _committed_outermost()


def after_commit(callback: Callable[[], None]) -> None:
    """Run `callback` once the current write transaction commits (now, if none is open)."""
    callbacks = getattr(_pending, "callbacks", None)
    if db.in_transaction() and callbacks is not None:
        callbacks.append(callback)
    else:
        callback()


def before_commit(callback: Callable[[], None]) -> bool:
    """Run `callback` at the end of the current outermost write transaction, inside it, just before its
    COMMIT; False (and nothing registered) when no `write_transaction` is open."""
    if not db.in_transaction() or getattr(_pending, "values", None) is None:
        return False
    _pending.before.append(callback)
    return True


def transaction_value(key: str, factory: Callable[[], object]) -> object | None:
    """A value that lives as long as the current outermost write transaction (made by `factory` on first
    use); None when no `write_transaction` is open."""
    values = getattr(_pending, "values", None)
    if not db.in_transaction() or values is None:
        return None
    if key not in values:
        values[key] = factory()
    return values[key]


def close_connection(exc: BaseException | None = None) -> None:
    """Close (or return to the pool) this thread's connection; also the app's teardown_request (`exc` is
    the request's error, if any, which changes nothing here)."""
    if not db.is_closed():
        db.close()

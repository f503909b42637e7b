"""The database handle: one peewee DatabaseProxy bound at start-up, and write transactions.

Nothing here knows about HTTP or tenants; callers open one write transaction per service call.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from urllib.parse import urlparse

from peewee import Database, DatabaseProxy, SqliteDatabase, __exception_wrapper__
from playhouse.db_url import connect, parse
from playhouse.pool import PooledPostgresqlDatabase, PooledSqliteDatabase

from core.pgstatements import StatementCache

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


class PooledPostgres(PooledPostgresqlDatabase):
    """peewee's PostgreSQL pool without the `SELECT 1` round trip on every checkout.

    A connection the server dropped is noticed by psycopg2 (`closed`, or an unknown transaction state)
    and discarded; one that dies unnoticed fails its next query, like any connection would.
    """

    def _is_closed(self, conn) -> bool:
        import psycopg2.extensions as ext

        return bool(conn.closed) or conn.get_transaction_status() == ext.TRANSACTION_STATUS_UNKNOWN

    def __init__(self, *args, prepare: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.statements = StatementCache() if prepare else None

    def execute_sql(self, sql, params=None):
        """Run `sql`; repeated statements run prepared (`core.pgstatements`) unless that is turned off."""
        if self.statements is None:
            return super().execute_sql(sql, params)
        self._log_query(sql, params)
        with __exception_wrapper__:
            cursor = self.cursor()
            self.statements.execute(cursor, sql, params)
        return cursor


def make_database(url: str, prepare: bool = True) -> Database:
    """Open (lazily) the database named by `url`: pooled SQLite in WAL mode or pooled PostgreSQL (with
    server-side prepared statements unless `prepare` is False).

    Connections are taken from the pool on first use in a request and returned at its end.
    """
    scheme = urlparse(url).scheme
    if scheme == "sqlite":
        path = url.split("sqlite:///", 1)[-1]
        return PooledSqliteDatabase(path, pragmas=SQLITE_PRAGMAS, timeout=10, max_connections=64,
                                    stale_timeout=600, autoconnect=True, check_same_thread=False)
    if scheme in {"postgres", "postgresql"}:
        return PooledPostgres(autoconnect=True, max_connections=64, stale_timeout=600, prepare=prepare, **parse(url))
    return connect(url, autoconnect=True)


def bind_database(database: Database) -> None:
    """Point every model at `database` (through the proxy)."""
    db.initialize(database)


def is_sqlite() -> bool:
    """True when the bound database is SQLite."""
    return isinstance(db.obj, SqliteDatabase)


@contextlib.contextmanager
def _begin():
    if is_sqlite():
        with db.obj.atomic("IMMEDIATE"):
            yield
    else:
        with db.atomic():
            yield


@contextlib.contextmanager
def write_transaction() -> Iterator[None]:
    """A write transaction: BEGIN IMMEDIATE on SQLite (no lock upgrade failures), plain on PostgreSQL.

    Nested calls become savepoints. Callbacks registered with `after_commit` inside the outermost one run
    once it has committed, and are dropped if it rolls back.
    """
    outermost = not db.in_transaction()
    if outermost:
        _pending.callbacks = []
    try:
        with _begin():
            yield
    except BaseException:
        if outermost:
            _pending.callbacks = []
        raise
    if outermost:
        callbacks, _pending.callbacks = _pending.callbacks, []
        for callback in callbacks:
            callback()


def after_commit(callback: Callable[[], None]) -> None:
    """Run `callback` once the current write transaction commits (now, if none is open)."""
    callbacks = getattr(_pending, "callbacks", None)
    if db.in_transaction() and callbacks is not None:
        callbacks.append(callback)
    else:
        callback()


def open_connection() -> None:
    """Open this thread's connection if it is not open yet (one per request)."""
    db.connect(reuse_if_open=True)


def close_connection(exc: BaseException | None = None) -> None:
    """Close (or return to the pool) this thread's connection; also the app's teardown_request (`exc` is
    the request's error, if any, which changes nothing here)."""
    if not db.is_closed():
        db.close()

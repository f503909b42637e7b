"""The database handle: one peewee DatabaseProxy bound at start-up, and write transactions.

Nothing here knows about HTTP or tenants; callers open one write transaction per service call.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from urllib.parse import urlparse

from peewee import Database, DatabaseProxy, SqliteDatabase
from playhouse.db_url import connect

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


def _pooled(url: str) -> str:
    """Use peewee's connection pool for PostgreSQL unless the URL already picks a scheme variant."""
    scheme = urlparse(url).scheme
    if scheme in {"postgres", "postgresql"}:
        return "postgresql+pool" + url[len(scheme):]
    return url


def make_database(url: str) -> Database:
    """Open (lazily) the database named by `url`: SQLite in WAL mode or pooled PostgreSQL."""
    if url.startswith("sqlite"):
        path = url.split("sqlite:///", 1)[-1]
        return SqliteDatabase(path, pragmas=SQLITE_PRAGMAS, timeout=10, autoconnect=True)
    return connect(_pooled(url), max_connections=32, stale_timeout=300, autoconnect=True)


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


def close_connection() -> None:
    """Close (or return to the pool) this thread's connection."""
    if not db.is_closed():
        db.close()

"""A database that cannot serve answers 503 `database_unavailable` with `Retry-After`, never a 500 or a hang:
PostgreSQL refusing connections (both passes) and SQLite locked beyond its busy timeout (the SQLite pass).

Each test binds its own database to the session app for one request and restores the app's afterwards.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time

import pytest
from playhouse.pool import PooledSqliteDatabase

from core import db as database
from core.config import Config
from core.request_id import HEADER


@contextlib.contextmanager
def bound(other):
    """The session app's models on `other` for the block."""
    original = database.db.obj
    database.close_connection()
    database.bind_database(other)
    try:
        yield other
    finally:
        database.close_connection()
        database.bind_database(original)
        other.close_all()


def assert_unavailable(response):
    assert response.status_code == 503, response.get_json()
    body = response.get_json()
    assert body["type"] == "database_unavailable"
    assert response.headers["Retry-After"] == "5" and body["retryAfter"] == 5
    assert body["requestId"] == response.headers[HEADER]


def test_the_connect_timeout_is_a_setting():
    assert Config.from_env({}).db_connect_timeout == 5
    assert Config.from_env({"BOXOFFICE_DB_CONNECT_TIMEOUT": "2"}).db_connect_timeout == 2


def test_a_postgresql_server_refusing_connections_is_a_503(tenant):
    down = database.make_database("postgresql://postgres@127.0.0.1:1/boxoffice", connect_timeout=2)
    with bound(down):
        started = time.monotonic()
        response = tenant.staff.get("/venues")
        assert time.monotonic() - started < 5
    assert_unavailable(response)
    assert tenant.staff.get("/venues").status_code == 200  # the app's own database again


def test_sqlite_locked_beyond_the_busy_timeout_is_a_503(tenant):
    url = os.environ["BOXOFFICE_DATABASE_URL"]
    if not url.startswith("sqlite:///"):
        pytest.skip("SQLite locking: the SQLite pass")
    path = url.split("sqlite:///", 1)[1]
    impatient = PooledSqliteDatabase(path, pragmas={**database.SQLITE_PRAGMAS, "busy_timeout": 100}, timeout=0.1,
                                     max_connections=4, autoconnect=True, check_same_thread=False)
    holder = sqlite3.connect(path, timeout=0.1, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")  # another process holding the write lock
        with bound(impatient):
            response = tenant.staff.post("/venues", json={"name": "Locked Hall", "capacity": 10})
        assert_unavailable(response)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert tenant.staff.post("/venues", json={"name": "Hall", "capacity": 10}).status_code == 201

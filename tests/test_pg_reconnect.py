"""A PostgreSQL connection that dies under a request is replaced: a backend terminated right after checkout is
retried once on a fresh connection (nothing was written), never inside a transaction; a real gunicorn whose
every backend was terminated keeps answering 200.

Runs against the PostgreSQL server in both CI passes (the SQLite pass too), on its own connections and its own
fresh database, so it touches nothing else.
"""

from __future__ import annotations

import os
import secrets
from urllib.parse import urlparse, urlunparse

import psycopg
import pytest
from peewee import OperationalError
from pg_admin import PG_URL, terminate
from procs import ServerProcess, boxoffice_env, free_port, gunicorn_command, operator_headers, run_cli

from core.db import PooledPostgres, database_unavailable, make_database


@pytest.fixture
def database():
    database = make_database(PG_URL)
    try:
        database.connect()
    except Exception as exc:  # noqa: BLE001 - the server is part of the machine; say so if it is missing
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}: {exc}")
    database.close()
    yield database
    database.close_all()


def kill_on_checkout(monkeypatch) -> list[int]:
    """The next checkout terminates the connection's backend right after the pool handed it out (before the first
    statement: the window no checkout check can see). Returns the pids killed."""
    killed: list[int] = []
    checkout = PooledPostgres.connect

    def connect_then_die(self, reuse_if_open=False):
        opened = checkout(self, reuse_if_open)
        if opened and not killed:
            killed.append(self._state.conn.info.backend_pid)
            terminate(killed[-1])
        return opened

    monkeypatch.setattr(PooledPostgres, "connect", connect_then_die)
    return killed


@pytest.fixture
def killed_on_checkout(monkeypatch):
    """`kill_on_checkout` for one test."""
    return kill_on_checkout(monkeypatch)


def pid_of(database) -> int:
    return database.execute_sql("SELECT pg_backend_pid()").fetchone()[0]


def test_a_statement_on_a_connection_killed_after_checkout_runs_on_a_fresh_one(database, killed_on_checkout):
    assert pid_of(database) not in killed_on_checkout and len(killed_on_checkout) == 1


def test_a_transaction_begun_on_a_connection_killed_after_checkout_runs_on_a_fresh_one(database, killed_on_checkout):
    with database.atomic():
        pid = pid_of(database)
    assert pid not in killed_on_checkout and len(killed_on_checkout) == 1


def test_numbered_statements_are_retried_too(database, killed_on_checkout):
    database.connect()
    assert database.execute_numbered("SELECT $1::int + 1", [41]).fetchone() == (42,)
    assert len(killed_on_checkout) == 1


def test_a_connection_lost_inside_a_transaction_is_not_retried(database):
    # The kill happens between two statements of one transaction.
    with pytest.raises(OperationalError) as lost, database.atomic():  # noqa: PT012
        killed = pid_of(database)
        terminate(killed)
        database.execute_sql("SELECT 1")
    assert database_unavailable(lost.value)  # the client gets a 503 and retries with its idempotency key
    database.close()  # the request's teardown: back to the pool, whose checkout check discards it
    database.connect()
    assert pid_of(database) != killed


def test_a_connection_lost_after_the_first_statement_is_not_retried(database):
    database.connect()
    terminate(pid_of(database))
    with pytest.raises(OperationalError):
        database.execute_sql("SELECT 1")


@pytest.fixture
def fresh_pg_url(database):
    """A new, migrated PostgreSQL database for a server process; dropped afterwards."""
    name = f"boxoffice_reconnect_{secrets.token_hex(4)}"
    with psycopg.connect(PG_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = urlunparse(urlparse(PG_URL)._replace(path="/" + name))
    try:
        migrated = run_cli("db", "upgrade", env=boxoffice_env(BOXOFFICE_DATABASE_URL=url))
        assert migrated.returncode == 0, migrated.stderr
        yield url, name
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_gunicorn_workers_answer_200_after_every_backend_was_terminated(fresh_pg_url):
    url, name = fresh_pg_url
    port = free_port()
    with ServerProcess(gunicorn_command(port, workers=2), port, env=boxoffice_env(BOXOFFICE_DATABASE_URL=url)) as srv:
        created = srv.request("POST", "/operator/tenants", json={"name": "Reconnect Org"}, headers=operator_headers())
        assert created.status_code == 201, created.text
        guest = {"orgid": created.json()["orgid"]}
        key = created.json()["adminApiKey"]

        def round_of_requests() -> list[int]:
            return [srv.request("POST", "/auth/token", json={"apiKey": key}, headers=guest).status_code
                    for _ in range(12)]

        assert set(round_of_requests()) == {200}  # both workers hold pooled connections now
        for _ in range(2):
            with psycopg.connect(PG_URL, autocommit=True) as admin:
                pids = [row[0] for row in admin.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = %s", [name]).fetchall()]
            assert pids
            terminate(*pids)
            assert set(round_of_requests()) == {200}, srv.output()[-3000:]


def test_a_request_whose_connection_dies_after_checkout_answers_200(tenant, monkeypatch):
    if not os.environ["BOXOFFICE_DATABASE_URL"].startswith("postgres"):
        pytest.skip("the session app runs on SQLite in this pass (the database-level tests above cover it)")
    killed = kill_on_checkout(monkeypatch)
    response = tenant.staff.get("/venues")
    assert response.status_code == 200 and len(killed) == 1

"""PostgreSQL connections (core.db.make_database on psycopg 3): repeated statements run prepared unless the
PgBouncer switch turns that off, and a pooled connection the server dropped is replaced, not reused.

Runs against the PostgreSQL server in both CI passes (the SQLite pass too), on TEMP tables of its own
connections, so it touches nothing else.
"""

from __future__ import annotations

import pytest
from pg_admin import PG_URL, terminate

from core.config import Config
from core.db import PG_PREPARE_THRESHOLD, make_database


def test_the_switch_is_read_from_the_environment():
    assert Config.from_env({}).pg_prepare is True
    assert Config.from_env({"BOXOFFICE_PG_PREPARE": "0"}).pg_prepare is False
    assert Config.from_env({"BOXOFFICE_PG_PREPARE": "true"}).pg_prepare is True


def _database(prepare: bool):
    database = make_database(PG_URL, prepare=prepare)
    try:
        database.connect()
    except Exception as exc:  # noqa: BLE001 - the server is part of the machine; say so if it is missing
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}: {exc}")
    database.execute_sql('CREATE TEMP TABLE "seat" ("id" INTEGER PRIMARY KEY, "label" VARCHAR(20) NOT NULL)')
    return database


def _prepared(database) -> list[str]:
    return [row[0] for row in database.execute_sql("SELECT statement FROM pg_prepared_statements").fetchall()]


@pytest.mark.parametrize("prepare", [True, False])
def test_repeated_statements_are_prepared_unless_switched_off(prepare):
    database = _database(prepare)
    try:
        insert = 'INSERT INTO "seat" ("id", "label") VALUES (%s, %s)'
        for i in range(PG_PREPARE_THRESHOLD + 2):
            database.execute_sql(insert, [i, f"A{i}"])
        select = 'SELECT "label" FROM "seat" WHERE "id" >= %s ORDER BY "id" LIMIT %s'
        answers = [database.execute_sql(select, [1, 2]).fetchall() for _ in range(PG_PREPARE_THRESHOLD + 1)]
        assert answers == [[("A1",), ("A2",)]] * (PG_PREPARE_THRESHOLD + 1)
        prepared = " ".join(_prepared(database))
        assert ('INSERT INTO "seat"' in prepared) is prepare
        assert ('SELECT "label" FROM "seat"' in prepared) is prepare
    finally:
        database.close_all()


@pytest.mark.parametrize("server_dropped", [True, False])
def test_a_pooled_connection_is_reused_unless_the_server_dropped_it(server_dropped):
    database = _database(prepare=True)
    try:
        first = database.execute_sql("SELECT pg_backend_pid()").fetchone()[0]
        database.close()  # back to the pool
        if server_dropped:
            terminate(first)
        database.connect()
        second = database.execute_sql("SELECT pg_backend_pid()").fetchone()[0]
        assert (second != first) is server_dropped
    finally:
        database.close_all()

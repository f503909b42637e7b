"""Server-side prepared statements on PostgreSQL (core.pgstatements): same answers, planned once.

Runs against the PostgreSQL server in both CI passes (the SQLite pass too), on TEMP tables of one
connection, so it touches nothing else.
"""

from __future__ import annotations

import os

import pytest
from peewee import IntegrityError

from core.config import Config
from core.db import PooledPostgres
from core.pgstatements import StatementCache, positional_sql

PG_URL = os.environ.get("BOXOFFICE_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


def test_placeholders_are_numbered_and_only_dml_is_prepared():
    assert positional_sql('SELECT "a" FROM "t" WHERE "b" = %s AND "c" LIKE \'x%%\' LIMIT %s') == (
        'SELECT "a" FROM "t" WHERE "b" = $1 AND "c" LIKE \'x%\' LIMIT $2', 2)
    assert positional_sql("  with x AS (SELECT 1) SELECT * FROM x") == ("  with x AS (SELECT 1) SELECT * FROM x", 0)
    assert positional_sql('CREATE TABLE "t" ("a" INTEGER)') is None
    assert positional_sql("BEGIN") is None
    assert positional_sql("SELECT %(a)s + %(b)s WHERE %(a)s > 0") == ("SELECT $1 + $2 WHERE $1 > 0", ("a", "b"))
    assert positional_sql("SELECT %(a)s, %s") is None


def test_the_switch_is_read_from_the_environment():
    assert Config.from_env({}).pg_prepare is True
    assert Config.from_env({"BOXOFFICE_PG_PREPARE": "0"}).pg_prepare is False
    assert Config.from_env({"BOXOFFICE_PG_PREPARE": "true"}).pg_prepare is True


@pytest.fixture
def pg():
    """A one-connection pooled PostgreSQL database with a TEMP table `seat` (gone when it closes)."""
    from playhouse.db_url import parse

    database = PooledPostgres(max_connections=1, **parse(PG_URL))
    try:
        database.connect()
    except Exception as exc:  # noqa: BLE001 - the server is part of the machine; say so if it is missing
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}: {exc}")
    database.execute_sql('CREATE TEMP TABLE "seat" ("id" INTEGER PRIMARY KEY, "label" VARCHAR(20) NOT NULL)')
    yield database
    database.close_all()


def _prepared(database) -> list[str]:
    return [row[0] for row in database.execute_sql("SELECT statement FROM pg_prepared_statements").fetchall()]


def test_a_repeated_statement_is_prepared_and_answers_the_same(pg):
    insert = 'INSERT INTO "seat" ("id", "label") VALUES (%s, %s)'
    for i in range(5):
        pg.execute_sql(insert, [i, f"A{i}"])
    select = 'SELECT "label" FROM "seat" WHERE "id" >= %s ORDER BY "id" LIMIT %s'
    answers = [pg.execute_sql(select, [1, 2]).fetchall() for _ in range(3)]
    assert answers == [[("A1",), ("A2",)]] * 3
    texts = _prepared(pg)
    assert any('"label" FROM "seat" WHERE "id" >= $1' in text for text in texts)
    assert any('INSERT INTO "seat"' in text for text in texts)
    assert pg.statements.prepared_count(pg.connection()) == 2


def test_named_parameters_are_prepared_too(pg):
    pg.execute_sql('INSERT INTO "seat" ("id", "label") VALUES (%s, %s)', [1, "A"])
    pg.execute_sql('INSERT INTO "seat" ("id", "label") VALUES (%s, %s)', [2, "B"])
    select = ('SELECT "label" FROM "seat" WHERE "id" = %(id)s OR ("id" > %(id)s AND "label" = %(label)s) '
              'ORDER BY "id"')
    answers = [pg.execute_sql(select, {"label": "B", "id": 1}).fetchall() for _ in range(3)]
    assert answers == [[("A",), ("B",)]] * 3
    assert any('"id" = $1 OR ("id" > $1 AND "label" = $2)' in text for text in _prepared(pg))


def test_errors_from_prepared_statements_are_peewee_errors(pg):
    insert = 'INSERT INTO "seat" ("id", "label") VALUES (%s, %s)'
    pg.execute_sql(insert, [1, "A"])
    pg.execute_sql(insert, [2, "B"])
    with pytest.raises(IntegrityError):
        pg.execute_sql(insert, [1, "again"])
    assert pg.execute_sql('SELECT count(*) FROM "seat"').fetchone() == (2,)


def test_a_statement_that_cannot_be_prepared_runs_plainly_and_keeps_the_transaction(pg):
    with pg.atomic():
        pg.execute_sql('INSERT INTO "seat" ("id", "label") VALUES (%s, %s)', [7, "kept"])
        # PostgreSQL cannot infer the type of a bare parameter: PREPARE fails, the statement still runs
        for _ in range(3):
            assert pg.execute_sql("SELECT %s", ["hello"]).fetchone() == ("hello",)
    assert pg.execute_sql('SELECT "label" FROM "seat" WHERE "id" = %s', [7]).fetchone() == ("kept",)
    assert not any(text.strip() == "SELECT $1" for text in _prepared(pg))


def test_prepared_statements_survive_a_schema_change(pg):
    select = 'SELECT "id", "label" FROM "seat" ORDER BY "id"'
    pg.execute_sql('INSERT INTO "seat" ("id", "label") VALUES (%s, %s)', [1, "A"])
    assert pg.execute_sql(select).fetchall() == [(1, "A")]
    assert pg.execute_sql(select).fetchall() == [(1, "A")]  # now prepared
    pg.execute_sql('ALTER TABLE "seat" ADD COLUMN "row" INTEGER')
    assert pg.execute_sql(select).fetchall() == [(1, "A")]


def test_each_connection_keeps_at_most_the_limit(pg):
    pg.statements = StatementCache(limit=3, threshold=1)
    for i in range(6):
        pg.execute_sql(f'SELECT "label" FROM "seat" WHERE "id" = %s AND {i} = {i}', [1])
    assert len(_prepared(pg)) == 3
    assert pg.statements.prepared_count(pg.connection()) == 3


def test_turned_off_nothing_is_prepared():
    from playhouse.db_url import parse

    database = PooledPostgres(max_connections=1, prepare=False, **parse(PG_URL))
    try:
        database.connect()
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}: {exc}")
    try:
        for _ in range(3):
            assert database.execute_sql("SELECT 1 WHERE 1 = %s", [1]).fetchone() == (1,)
        assert _prepared(database) == []
    finally:
        database.close_all()

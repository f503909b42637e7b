"""The org_id scope check: the statement recorder (`core/statement_log.py`) and the checker (`.ci/org_scope.py`)
that CI runs over every statement the suite ran, proved on statements that break the rule and ones that keep it.

Needs no app: the recorder is tried on its own in-memory SQLite database, the checker on SQL text.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest
from peewee import SqliteDatabase

from core.statement_log import ROOT, record_statements

_spec = importlib.util.spec_from_file_location("org_scope", ROOT / ".ci" / "org_scope.py")
org_scope = sys.modules["org_scope"] = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(org_scope)

TENANT = frozenset({"ticket", "ticket_type", "booking", "event"})


def gaps(sql: str, dialect: str = "sqlite") -> list[str]:
    return org_scope.unscoped_tables(sql, dialect, TENANT)


def test_a_select_by_id_alone_is_reported_and_one_with_its_tenant_passes():
    assert gaps('SELECT "t1"."id" FROM "ticket" AS "t1" WHERE ("t1"."id" = ?) LIMIT ?') == ["ticket"]
    assert gaps('SELECT "t1"."id" FROM "ticket" AS "t1" WHERE (("t1"."id" = ?) AND ("t1"."org_id" = ?))') == []
    # an OR does not constrain: either side may match another tenant's rows
    assert gaps('SELECT "t1"."id" FROM "ticket" AS "t1" WHERE (("t1"."org_id" = ?) OR ("t1"."id" = ?))') == ["ticket"]
    # psycopg's and PostgreSQL's placeholders read the same
    assert gaps('SELECT "t1"."id" FROM "ticket" AS "t1" WHERE ("t1"."org_id" = %s)', "postgres") == []
    assert gaps('SELECT "t1"."id" FROM "ticket" AS "t1" WHERE ("t1"."org_id" = $1)', "postgres") == []
    assert gaps('SELECT "t1"."id" FROM "ticket" AS "t1" WHERE ("t1"."org_id" IN ($1, $2))', "postgres") == []


def test_a_join_must_carry_the_tenant_to_the_joined_table():
    unscoped = ('SELECT "t1"."id" FROM "ticket" AS "t1" INNER JOIN "ticket_type" AS "t2" '
                'ON ("t1"."ticket_type_id" = "t2"."id") WHERE ("t1"."org_id" = ?)')
    assert gaps(unscoped) == ["ticket_type"]
    scoped = ('SELECT "t1"."id" FROM "ticket" AS "t1" INNER JOIN "ticket_type" AS "t2" '
              'ON (("t1"."ticket_type_id" = "t2"."id") AND ("t2"."org_id" = "t1"."org_id")) WHERE ("t1"."org_id" = ?)')
    assert gaps(scoped) == []
    # two tables equal to each other but to no value are both unconstrained
    floating = ('SELECT "t1"."id" FROM "ticket" AS "t1" INNER JOIN "ticket_type" AS "t2" '
                'ON (("t1"."ticket_type_id" = "t2"."id") AND ("t2"."org_id" = "t1"."org_id"))')
    assert sorted(gaps(floating)) == ["ticket", "ticket_type"]
    # a table that is not a tenant table (the tenant's own row) needs nothing
    assert gaps('SELECT "t1"."id" FROM "org" AS "t1" WHERE ("t1"."id" = ?)') == []


def test_each_subquery_is_judged_on_its_own_and_may_use_the_outer_tenant():
    inner_unscoped = ('SELECT "t1"."id" FROM "booking" AS "t1" WHERE (("t1"."org_id" = ?) AND "t1"."id" IN '
                      '(SELECT "t2"."booking_id" FROM "ticket" AS "t2" WHERE ("t2"."status" = ?)))')
    assert gaps(inner_unscoped) == ["ticket"]
    correlated = ('SELECT "t1"."id", (SELECT COUNT("t2"."id") FROM "ticket" AS "t2" WHERE (("t2"."booking_id" = '
                  '"t1"."id") AND ("t2"."org_id" = "t1"."org_id"))) FROM "booking" AS "t1" WHERE ("t1"."org_id" = ?)')
    assert gaps(correlated) == []
    union = ('SELECT "id" FROM "ticket" WHERE ("org_id" = ?) UNION ALL SELECT "id" FROM "booking" WHERE ("id" = ?)')
    assert gaps(union) == ["booking"]


def test_writes_name_the_tenant_in_their_where_or_their_columns():
    assert gaps('UPDATE "ticket" SET "status" = ? WHERE ("ticket"."id" = ?)') == ["ticket"]
    assert gaps('UPDATE "ticket" SET "status" = ? WHERE (("ticket"."id" = ?) AND ("ticket"."org_id" = ?))') == []
    assert gaps('DELETE FROM "booking" WHERE ("booking"."id" = ?)') == ["booking"]
    assert gaps('DELETE FROM "booking" WHERE (("booking"."id" = ?) AND ("booking"."org_id" = ?))') == []
    assert gaps('INSERT INTO "ticket" ("id", "status") VALUES (?, ?)') == ["ticket"]
    assert gaps('INSERT INTO "ticket" ("id", "org_id", "status") VALUES (?, ?, ?) RETURNING "id"') == []
    # statements that touch no rows are not judged
    assert gaps('CREATE INDEX "x" ON "ticket" ("org_id")') == []


def record(sql: str, site: list[str], test: str = "tests/test_x.py::test_y") -> str:
    return json.dumps({"db": "sqlite", "sql": sql, "site": site, "test": test})


def test_the_check_reports_each_offending_statement_with_its_code_and_test_unless_allowed(monkeypatch):
    allowed = org_scope.Allowed("core/services/holds.py:expire_holds_job", ("booking",), "the sweep of every tenant")
    monkeypatch.setattr(org_scope, "ALLOWED", (allowed,))
    lines = [
        record('SELECT "t1"."id" FROM "booking" AS "t1" WHERE ("t1"."status" = ?)',
               ["core/services/holds.py:_expire_matching", "core/services/holds.py:expire_holds_job"]),
        record('SELECT "t1"."id" FROM "booking" AS "t1" WHERE ("t1"."status" = ?)',
               ["core/services/booking.py:lookup"], "tests/test_booking.py::test_lookup"),
        record('SELECT "t1"."id" FROM "ticket" AS "t1" WHERE ("t1"."status" = ?)',
               ["core/services/holds.py:expire_holds_job"]),  # allowed for booking, not for ticket
        record('SELECT "t1"."id" FROM "ticket" AS "t1" WHERE ("t1"."org_id" = ?)', ["core/tenancy.py:get_scoped"]),
    ]
    findings, counts = org_scope.check_records(lines, TENANT)
    assert counts == {"statements": 4, "allowed": 1, "offending": 2}
    assert [(f.tables, f.site[0], f.test) for f in findings] == [
        (("booking",), "core/services/booking.py:lookup", "tests/test_booking.py::test_lookup"),
        (("ticket",), "core/services/holds.py:expire_holds_job", "tests/test_x.py::test_y"),
    ]
    monkeypatch.setattr(org_scope, "ALLOWED", (org_scope.Allowed("core/migrations/", ("*",), "migrations, all"),))
    migration = record('UPDATE "event" SET "permanent" = ?', ["core/migrations/m0015_event_taxonomy.py:upgrade"])
    assert org_scope.check_records([migration, lines[1]], TENANT)[1] == {"statements": 2, "allowed": 1,
                                                                       "offending": 1}
    text = org_scope.report(findings)
    assert "core/services/booking.py:lookup" in text and "tests/test_booking.py::test_lookup" in text


def test_the_check_fails_on_an_empty_or_offending_record_and_passes_a_clean_one(tmp_path, capsys):
    clean = tmp_path / "clean.jsonl"
    clean.write_text(record('SELECT "t1"."id" FROM "event" AS "t1" WHERE ("t1"."org_id" = ?)',
                            ["core/tenancy.py:get_scoped"]) + "\n")
    bad = tmp_path / "bad.jsonl"
    bad.write_text(record('UPDATE "event" SET "name" = ? WHERE ("event"."id" = ?)', ["core/services/events.py:x"]))
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    assert org_scope.main([str(clean)]) == 0
    assert org_scope.main([str(bad)]) == 1
    assert "core/services/events.py:x" in capsys.readouterr().out
    assert org_scope.main([str(empty)]) == 1


def test_every_allow_list_entry_names_real_code_and_gives_its_reason():
    for entry in org_scope.ALLOWED:
        path, _, function = entry.site.partition(":")
        if path.endswith("/"):
            assert (ROOT / path).is_dir() and not function, entry
        else:
            assert (ROOT / path).is_file(), entry
            assert f"def {function}(" in (ROOT / path).read_text(), entry
        assert entry.tables and len(entry.reason) > 20, entry


def _as_app_code(source: str, name: str) -> dict:
    """Run `source` as if it were a module of the core (its frames are the app's, not the test's)."""
    namespace: dict = {}
    exec(compile(source, str(ROOT / "core" / "services" / f"{name}.py"), "exec"), namespace)
    return namespace


@pytest.fixture
def recorded(tmp_path):
    database = SqliteDatabase(":memory:")
    database.execute_sql('CREATE TABLE "ticket" ("id" TEXT, "org_id" TEXT)')
    path = tmp_path / "sql.jsonl"
    record_statements(database, str(path))
    return database, path


def test_the_recorder_notes_the_apps_statements_once_with_their_code_and_test(recorded):
    database, path = recorded
    app = _as_app_code("def find(db, sql, *params):\n    return db.execute_sql(sql, params).fetchall()\n", "probe")
    unscoped = 'SELECT "t1"."id" FROM "ticket" AS "t1" WHERE ("t1"."id" = ?)'
    for _ in range(3):
        app["find"](database, unscoped, "a")
    database.execute_sql('SELECT "id" FROM "ticket" WHERE "id" = ?', ("a",))  # the test's own: not the app's
    app["find"](database, "SAVEPOINT s1")  # not a row statement
    lines = [json.loads(line) for line in Path(path).read_text().splitlines()]
    assert lines == [{"db": "sqlite", "sql": unscoped, "site": ["core/services/probe.py:find"],
                      "test": "tests/test_org_scope.py::test_the_recorder_notes_the_apps_statements_once_with_their_"
                              "code_and_test"}]
    findings, _ = org_scope.check_records(Path(path).read_text().splitlines(), TENANT)
    assert [f.tables for f in findings] == [("ticket",)]


# The tenants themselves; the record of applied migrations; staff people, who may be members of several tenants
# (their role in each is a `membership` row, which carries org_id): a reference table under Citus.
TENANTLESS_TABLES = {"org", "schema_migrations", "member"}


def test_every_table_of_the_database_but_the_tenants_own_carries_org_id(db):
    """Every table the migrations made (core and every installed plugin) has `org_id`, so each can be
    distributed by it; a new table without one fails here."""
    tables = set(db.get_tables())
    assert tables >= TENANTLESS_TABLES and len(tables) > 60
    missing = sorted(t for t in tables - TENANTLESS_TABLES
                     if "org_id" not in {column.name for column in db.get_columns(t)})
    assert missing == []
    assert org_scope.tenant_tables() >= tables - TENANTLESS_TABLES - {"outbox_entry"}

"""The org_id scope check: every SQL statement the app ran (recorded by `core/statement_log.py`) that touches a
tenant table must constrain that table's `org_id`, unless its code is on the operator-wide allow-list.

Reads recorded files only; never connects to a database or changes one. Exit 1 (listing each offending
statement with the code and the test that ran it) when one does not.

    BOXOFFICE_SQL_RECORD=/tmp/sql.jsonl .venv/bin/pytest     # record (any test selection, either database)
    .venv/bin/python .ci/org_scope.py /tmp/sql.jsonl          # check
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import sqlglot
from sqlglot import exp

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(Path(__file__).resolve().parent)]

from org_scope_allowed import ALLOWED, Allowed  # noqa: E402

TENANT_COLUMN = "org_id"
BOUND = ("", "")  # the union-find node every value (parameter, literal, outer column, subquery) joins


def tenant_tables() -> frozenset[str]:
    """Every table of the core's and the installed plugins' models that has an `org_id` column (the tenant
    tables: the tenant's own row in `org` is the root, not one of them)."""
    from core import models
    from core.plugins import PluginHost

    host = PluginHost(None)
    host.load_entry_points()
    found = list(models.CORE_MODELS)
    for batch in host.pm.hook.register_models():
        found.extend(batch or [])
    return frozenset(model._meta.table_name for model in found
                     if any(f.column_name == TENANT_COLUMN for f in model._meta.sorted_fields))


def unscoped_tables(sql: str, dialect: str, tenant: frozenset[str]) -> list[str]:
    """The tenant tables `sql` reads or writes without constraining their `org_id` (in the WHERE or a JOIN ON
    of the same SELECT, UPDATE or DELETE, equal to a value or to another constrained `org_id`; in the column
    list of an INSERT). Each SELECT (subqueries and UNION parts included) is judged on its own; statements
    other than SELECT, INSERT, UPDATE and DELETE (DDL, PRAGMA, transaction control) touch no tenant's rows."""
    statement = sqlglot.parse_one(_plain_placeholders(sql), read=dialect)
    if not isinstance(statement, (exp.Select, exp.SetOperation, exp.Update, exp.Delete, exp.Insert)):
        return []
    gaps: list[str] = []
    for node in statement.walk():
        if isinstance(node, exp.Select):
            gaps += _scope_gaps(_select_sources(node), [node.args.get("where")]
                                + [join.args.get("on") for join in node.args.get("joins") or []], tenant)
        elif isinstance(node, (exp.Update, exp.Delete)):
            sources = [node.this] + _from_tables(node.args.get("from_") or node.args.get("from"))
            sources += [table for table in node.args.get("using") or []]
            gaps += _scope_gaps(sources, [node.args.get("where")], tenant)
        elif isinstance(node, exp.Insert):
            gaps += _insert_gaps(node, tenant)
    return gaps


def _plain_placeholders(sql: str) -> str:
    """psycopg's `%s` and PostgreSQL's `$n` as `?` (the parser reads all three; `%s` it would read as modulo)."""
    import re

    return re.sub(r"%s|\$\d+", "?", sql)


def _select_sources(select: exp.Select) -> list[exp.Expression]:
    sources = _from_tables(select.args.get("from_") or select.args.get("from"))
    return sources + [join.this for join in select.args.get("joins") or []]


def _from_tables(clause: exp.Expression | None) -> list[exp.Expression]:
    if clause is None:
        return []
    return [clause.this] + list(clause.expressions or [])


def _insert_gaps(insert: exp.Insert, tenant: frozenset[str]) -> list[str]:
    target = insert.this
    table = target.this if isinstance(target, exp.Schema) else target
    if not isinstance(table, exp.Table) or table.name not in tenant:
        return []
    columns = [column.name for column in target.expressions] if isinstance(target, exp.Schema) else []
    return [] if TENANT_COLUMN in columns else [table.name]


@dataclass
class _Equalities:
    """Union-find over `(alias, column)`: which columns a scope's conjuncts make equal to each other or to a
    value."""

    parent: dict = field(default_factory=dict)

    def find(self, key):
        while self.parent.get(key, key) != key:
            key = self.parent[key]
        return key

    def union(self, a, b) -> None:
        self.parent[self.find(a)] = self.find(b)


def _scope_gaps(sources: list, conditions: list, tenant: frozenset[str]) -> list[str]:
    """The tenant tables among one scope's `sources` whose `org_id` its `conditions` do not bind."""
    tables = [source for source in sources if isinstance(source, exp.Table)]
    if not any(table.name in tenant for table in tables):
        return []
    aliases = {source.alias_or_name for source in sources if isinstance(source, exp.Expression)}
    only = next(iter(aliases)) if len(aliases) == 1 else None
    equal = _Equalities()

    def local(expression) -> tuple[str, str] | None:
        if not isinstance(expression, exp.Column):
            return None
        alias = expression.table or only
        return (alias, expression.name) if alias in aliases else None

    for condition in conditions:
        for conjunct in _conjuncts(condition):
            if isinstance(conjunct, exp.EQ):
                left, right = local(conjunct.this), local(conjunct.expression)
                if left or right:
                    equal.union(left or BOUND, right or BOUND)
            elif isinstance(conjunct, exp.In) and local(conjunct.this):
                equal.union(local(conjunct.this), BOUND)
    bound = equal.find(BOUND)
    return [table.name for table in tables
            if table.name in tenant and equal.find((table.alias_or_name, TENANT_COLUMN)) != bound]


def _conjuncts(condition: exp.Expression | None) -> Iterator[exp.Expression]:
    while isinstance(condition, (exp.Paren, exp.Where)):
        condition = condition.this
    if isinstance(condition, exp.And):
        yield from _conjuncts(condition.this)
        yield from _conjuncts(condition.expression)
    elif condition is not None:
        yield condition


@dataclass(frozen=True)
class Finding:
    """A recorded statement that leaves a tenant table's `org_id` unconstrained."""

    db: str
    tables: tuple[str, ...]
    site: tuple[str, ...]
    test: str
    sql: str


def allowance(site: Iterable[str], tables: Iterable[str]) -> Allowed | None:
    """The allow-list entry that covers a statement ran by `site` (its frames, innermost first) on `tables`: an
    entry names one function (`path:function`) or every function of a folder (`path/`)."""
    site, tables = list(site), set(tables)
    for entry in ALLOWED:
        named = entry.site in site or (entry.site.endswith("/") and any(f.startswith(entry.site) for f in site))
        if named and ("*" in entry.tables or tables <= set(entry.tables)):
            return entry
    return None


def check_records(lines: Iterable[str], tenant: frozenset[str]) -> tuple[list[Finding], dict[str, int]]:
    """Judge recorded JSON lines: the offending statements (each once) and counts of what was seen."""
    findings: dict[tuple, Finding] = {}
    counts = {"statements": 0, "allowed": 0, "offending": 0}
    for line in lines:
        if not line.strip():
            continue
        record = json.loads(line)
        counts["statements"] += 1
        site = tuple(record["site"])
        try:
            gaps = unscoped_tables(record["sql"], record["db"], tenant)
        except sqlglot.errors.ParseError as error:
            gaps = [f"(unparsed: {str(error).splitlines()[0]})"]
        if not gaps:
            continue
        if allowance(site, gaps):
            counts["allowed"] += 1
            continue
        counts["offending"] += 1
        findings.setdefault((record["sql"], site), Finding(record["db"], tuple(sorted(set(gaps))), site,
                                                           record["test"], record["sql"]))
    return list(findings.values()), counts


def report(findings: list[Finding]) -> str:
    """The findings as text: the tables, the code (innermost frame first), the test, the statement."""
    out = []
    for finding in sorted(findings, key=lambda f: (f.site, f.sql)):
        out.append(f"- {', '.join(finding.tables)} not constrained by org_id ({finding.db})\n"
                   f"  code: {' <- '.join(finding.site) or '(no app frame)'}\n"
                   f"  test: {finding.test or '(none)'}\n"
                   f"  sql:  {finding.sql[:600]}")
    return "\n".join(out)


def main(argv: list[str]) -> int:
    """Check each recorded file named in `argv`; 0 when every statement is scoped or allowed, else 1."""
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    tenant = tenant_tables()
    status = 0
    for path in argv:
        with open(path, encoding="utf-8") as lines:
            findings, counts = check_records(lines, tenant)
        print(f"org_id scope check of {path}: {counts['statements']} distinct statements, "
              f"{counts['allowed']} operator-wide (allow-listed), {len(findings)} offending")
        if counts["statements"] == 0:
            print("  nothing was recorded: was BOXOFFICE_SQL_RECORD set for the test run?")
            status = 1
        if findings:
            print(report(findings))
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

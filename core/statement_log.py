"""Records the SQL statements the app runs, each with the code that ran it and the test running, into a JSON-lines
file (`BOXOFFICE_SQL_RECORD`), for the org_id scope check (`.ci/org_scope.py`).

Off unless that setting names a file: then nothing is wrapped and no statement pays anything. Never changes,
delays or reorders a statement; a statement the test code itself runs (tests/, bench/) is not the app's and is
not written.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from pathlib import Path

from peewee import Database

ROOT = Path(__file__).resolve().parent.parent
APP_DIRS = tuple(str(ROOT / name) + os.sep for name in ("core", "plugins", "tenants"))
TEST_DIRS = tuple(str(ROOT / name) + os.sep for name in ("tests", "bench"))
PLUMBING = (str(ROOT / "core" / "db.py"), __file__)
SITE_DEPTH = 8  # how many of the app's own frames (innermost first) name a statement's origin
ROW_STATEMENTS = ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH")  # savepoints, DDL and PRAGMAs are not noted


class StatementLog:
    """Appends each distinct (statement, origin) a process runs to `path`, once, as one JSON line:
    `{"db", "sql", "site", "test"}`; `site` is the app's innermost frames ("core/services/holds.py:expire"),
    `test` the pytest test running (`PYTEST_CURRENT_TEST`, inherited by the servers a test starts)."""

    def __init__(self, path: str, dialect: str) -> None:
        self.path = path
        self.dialect = dialect
        self._seen: set[tuple[str, tuple[str, ...]]] = set()
        self._lock = threading.Lock()

    def note(self, sql: str) -> None:
        """Write `sql` with the code that ran it, unless this process wrote that pair already or the caller is
        test code."""
        if not sql.lstrip()[:6].upper().startswith(ROW_STATEMENTS):
            return
        site = _app_site(sys._getframe(2))
        if site is None:
            return
        key = (sql, site)
        if key in self._seen:
            return
        line = json.dumps({"db": self.dialect, "sql": sql, "site": list(site),
                           "test": os.environ.get("PYTEST_CURRENT_TEST", "").removesuffix(" (call)")}) + "\n"
        with self._lock:
            if key in self._seen:
                return
            self._seen.add(key)
            with open(self.path, "a", encoding="utf-8") as out:  # one write per line: safe across processes
                out.write(line)


def _app_site(frame) -> tuple[str, ...] | None:
    """The app's innermost frames above the database layer as `path:function`, or None when test code (not
    the app) ran the statement."""
    site: list[str] = []
    while frame is not None and len(site) < SITE_DEPTH:
        filename = frame.f_code.co_filename
        if filename.startswith(TEST_DIRS) and not site:
            return None
        if filename.startswith(APP_DIRS) and filename not in PLUMBING:
            site.append(f"{filename[len(str(ROOT)) + 1:]}:{frame.f_code.co_name}")
        frame = frame.f_back
    return tuple(site)


def record_statements(database: Database, path: str) -> StatementLog:
    """Wrap `database`'s statement entry points (peewee's `execute_sql`, and `execute_numbered` where the
    database has it) so that each statement is noted in `path` before it runs."""
    log = StatementLog(path, "sqlite" if "sqlite" in type(database).__name__.lower() else "postgres")
    for name in ("execute_sql", "execute_numbered"):
        if hasattr(database, name):
            setattr(database, name, _noting(log, database, name))
    return log


def _noting(log: StatementLog, database: Database, name: str):
    def noted(sql, *args, **kwargs):
        log.note(sql)
        # the class's method, looked up on each call: whoever wraps it later (a test counting statements) still runs
        return getattr(type(database), name)(database, sql, *args, **kwargs)

    return noted

"""The PostgreSQL server as an administrator sees it, for tests of dropped connections.

Only ends backends the test names; never touches another test's database.
"""

from __future__ import annotations

import os
import time

import psycopg

PG_URL = os.environ.get("BOXOFFICE_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


def terminate(*pids: int) -> None:
    """End these backends and wait until they are gone (terminating is asynchronous)."""
    with psycopg.connect(PG_URL, autocommit=True) as admin:
        for pid in pids:
            admin.execute("SELECT pg_terminate_backend(%s)", [pid])
        for _ in range(100):
            if not admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = ANY(%s)", [list(pids)]).fetchone():
                return
            time.sleep(0.05)
    raise AssertionError(f"backends {pids} still alive")

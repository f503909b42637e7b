"""Benchmark: GET /client/events latency (first page and page 1,000 by cursor) against GET /health.

Seeds 100,000 events over 10 tenants with bulk inserts, then times requests in-process with Flask's test
client. SQLite by default (a fresh file in a temp folder); PostgreSQL with BOXOFFICE_DATABASE_URL.

    .venv/bin/python bench/list_events.py [--events 100000] [--tenants 10] [--requests 300]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402 - bench/ helpers
from harness import percentile  # noqa: E402

CHUNK = 1000


def seed(n_events: int, n_tenants: int) -> list[str]:
    """Create tenants and bulk-insert their events (published, public, one per hour from tomorrow)."""
    from core.db import db
    from core.models import Event, new_id, utcnow
    from tenants import service

    orgs = [service.create_tenant(f"Bench {i}").org.id for i in range(n_tenants)]
    now = utcnow().replace(microsecond=0, second=0, minute=0)
    per_tenant = n_events // n_tenants
    done, started = 0, time.perf_counter()
    for org in orgs:
        for first in range(0, per_tenant, CHUNK):
            rows = []
            for i in range(first, min(first + CHUNK, per_tenant)):
                start = now + dt.timedelta(days=1, hours=i)
                rows.append({"id": new_id(), "org": org, "type": "date", "name": f"Event {i}",
                             "slug": f"event-{i}", "tz": "Europe/Paris", "starts_at": start,
                             "ends_at": start + dt.timedelta(hours=2), "published_at": now,
                             "created_at": now, "updated_at": now})
            with db.atomic():
                Event.insert_many(rows).execute()
            done += len(rows)
            rate = done / (time.perf_counter() - started)
            if done % 10_000 == 0 or done == n_events:
                print(f"  seeded {done:,}/{n_events:,} events ({rate:,.0f}/s)", flush=True)
    if db.obj.__class__.__name__.startswith("Postgres") or "Pooled" in db.obj.__class__.__name__:
        db.execute_sql("ANALYZE event")
    else:
        db.execute_sql("ANALYZE")
    return orgs


def timed(client, path: str, headers: dict, n: int) -> list[float]:
    samples = []
    for _ in range(n):
        begin = time.perf_counter()
        response = client.get(path, headers=headers)
        samples.append((time.perf_counter() - begin) * 1000)
        assert response.status_code == 200, response.get_data(as_text=True)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--tenants", type=int, default=10)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--depth", type=int, default=1000, help="page number reached by cursor")
    args = parser.parse_args()

    with harness.fresh_run(None, "boxoffice_list", jobs_immediate=True) as (database, _):
        measure(args, database.backend)


def measure(args: argparse.Namespace, backend: str) -> None:
    """Seed, walk to the deep page and time the three requests in process."""
    from core.app import create_app
    from core.db import db

    app = create_app()
    print(f"backend: {backend}; seeding {args.events:,} events over {args.tenants} tenants")
    t0 = time.perf_counter()
    with db.connection_context():
        orgs = seed(args.events, args.tenants)
    print(f"seeded in {time.perf_counter() - t0:.1f}s")

    client = app.test_client()
    headers = {"orgid": orgs[0]}
    # walk to the deep page once, by cursor, to get its cursor
    cursor, size = "", 10
    t0 = time.perf_counter()
    for _ in range(args.depth - 1):
        body = client.get(f"/client/events?page[size]={size}&page[cursor]={cursor}", headers=headers).get_json()
        cursor = body["meta"]["page"]["next_cursor"]
    print(f"walked to page {args.depth} by cursor in {time.perf_counter() - t0:.1f}s")
    deep = f"/client/events?page[size]={size}&page[cursor]={cursor}"
    first = f"/client/events?page[size]={size}"
    assert len(client.get(deep, headers=headers).get_json()["data"]) == size

    for path, hdrs in (("/health", {}), (first, headers), (deep, headers)):
        timed(client, path, hdrs, 30)  # warm-up
    results = {"no-op GET /health": timed(client, "/health", {}, args.requests),
               "GET /client/events (page 1)": timed(client, first, headers, args.requests),
               f"GET /client/events (page {args.depth:,} by cursor)": timed(client, deep, headers, args.requests)}
    print(f"\n{'endpoint':45} {'p50 ms':>8} {'p99 ms':>8} {'mean':>8}")
    p50 = {}
    for name, samples in results.items():
        p50[name] = percentile(samples, 50)
        print(f"{name:45} {p50[name]:8.3f} {percentile(samples, 99):8.3f} {statistics.mean(samples):8.3f}")
    noop, page1, deep_p50 = list(p50.values())
    print(f"\npage {args.depth:,} / page 1 (p50): {deep_p50 / page1:.2f}x   (target <= 1.5x)")
    print(f"page 1 / no-op (p50):     {page1 / noop:.2f}x   (target <= 4x)")


if __name__ == "__main__":
    main()

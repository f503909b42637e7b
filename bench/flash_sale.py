"""Benchmark: a flash sale over real HTTP (gunicorn, several workers) against the no-op GET /health.

Provisions a tenant, an event and a limited ticket type, then fires many concurrent purchase attempts and
reports throughput, p50/p99 latency and oversold seats (must be 0). Loopback only, bounded in count and time.

    BOXOFFICE_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test \
        .venv/bin/python bench/flash_sale.py [--workers 4] [--threads 48] [--attempts 2400] [--seats 500]
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def percentile(samples: list[float], pct: float) -> float:
    """The pct-th percentile of samples (nearest rank)."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(pct / 100 * (len(ordered) - 1))))]


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Database:
    """A fresh database for the run: a new PostgreSQL database, or an SQLite file in a temp folder."""

    def __init__(self, url: str, data_dir: str):
        self.admin_url = url if url.startswith("postgres") else ""
        self.name = f"boxoffice_flash_{secrets.token_hex(3)}"
        if self.admin_url:
            self._admin(f'CREATE DATABASE "{self.name}"')
            self.url = urlunparse(urlparse(url)._replace(path="/" + self.name))
        else:
            self.url = f"sqlite:///{data_dir}/boxoffice.db"

    def _admin(self, sql: str) -> None:
        import psycopg2

        conn = psycopg2.connect(self.admin_url)
        conn.autocommit = True
        conn.cursor().execute(sql)
        conn.close()

    def drop(self) -> None:
        """Remove the PostgreSQL database (the SQLite folder is a temp dir)."""
        if self.admin_url:
            from core.db import db

            db.obj.close_all()
            self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def provision(seats: int, price: int) -> tuple[str, str, str]:
    """Tenant + published event (capacity `seats`) + one ticket type; returns (orgid, event id, type id)."""
    from core.db import db
    from core.models import Event, TicketType, utcnow
    from tenants import service

    now = utcnow()
    with db.connection_context():
        org = service.create_tenant("Flash Sale").org
        event = Event.create(org=org.id, name="Flash", slug="flash", starts_at=now + dt.timedelta(days=7),
                             ends_at=now + dt.timedelta(days=7, hours=3), capacity=seats,
                             published_at=now - dt.timedelta(minutes=1))
        tt = TicketType.create(org=org.id, event=event.id, name="Limited", price=price, capacity=seats)
    return org.id, event.id, tt.id


def request(port: int, method: str, path: str, body: dict | None = None, headers: dict | None = None):
    """One HTTP request on a new connection; returns (status, json body or None, ms)."""
    begin = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    payload = json.dumps(body).encode() if body is not None else None
    sent = {"Content-Type": "application/json", **(headers or {})} if payload else dict(headers or {})
    conn.request(method, path, body=payload, headers=sent)
    response = conn.getresponse()
    data = response.read()
    conn.close()
    elapsed = (time.perf_counter() - begin) * 1000
    return response.status, (json.loads(data) if data else None), elapsed


def hammer(count: int, threads: int, call, deadline: float) -> tuple[list, float]:
    """Run `call(i)` `count` times on `threads` threads (stopping at `deadline`); returns (results, seconds)."""
    stop = threading.Event()

    def one(i):
        if stop.is_set() or time.monotonic() > deadline:
            stop.set()
            return None
        return call(i)

    begin = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        results = [r for r in pool.map(one, range(count)) if r is not None]
    return results, time.perf_counter() - begin


def start_server(port: int, workers: int, env: dict, threads: int = 1) -> subprocess.Popen:
    """gunicorn with `workers` workers (sync, or gthread with `threads` > 1) on the loopback port; waits for /health."""
    gunicorn = str(ROOT / ".venv" / "bin" / "gunicorn")
    kind = ["-k", "gthread", "--threads", str(threads)] if threads > 1 else []
    proc = subprocess.Popen([gunicorn, "-w", str(workers), *kind, "-b", f"127.0.0.1:{port}", "--log-level",
                             "warning", "wsgi:app"], cwd=str(ROOT), env=env)
    for _ in range(300):
        try:
            if request(port, "GET", "/health")[0] == 200:
                return proc
        except OSError:
            time.sleep(0.1)
    proc.terminate()
    raise SystemExit("gunicorn did not start")


def audit(event_id: str, tt_id: str, seats: int) -> dict:
    """Counters versus rows after the sale."""
    from core.db import db
    from core.models import Booking, Event, Ticket, TicketType
    from core.services.capacity import counters_match_rows

    with db.connection_context():
        event, tt = Event.get_by_id(event_id), TicketType.get_by_id(tt_id)
        tickets = Ticket.select().where(Ticket.event == event_id).count()
        bookings = Booking.select().where(Booking.event == event_id)
        booked = sum(b.seats for b in bookings if b.status in ("confirmed", "pending"))
        return {"sold": tt.sold, "held": tt.held, "event_sold": event.sold, "event_held": event.held,
                "tickets": tickets, "booked_seats": booked, "counters_match_rows": counters_match_rows(event_id),
                "oversold": max(0, tt.sold + tt.held - seats) + max(0, tickets - tt.sold)}


def report(name: str, results: list, seconds: float) -> float:
    """Print one row; returns requests per second."""
    latencies = [r[2] for r in results]
    rate = len(results) / seconds if seconds else 0.0
    print(f"{name:34} {len(results):7d} {rate:9.1f} {percentile(latencies, 50):8.2f} "
          f"{percentile(latencies, 99):8.2f} {statistics.mean(latencies):8.2f}")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=48, help="client threads")
    parser.add_argument("--worker-threads", type=int, default=1, help="> 1: gunicorn gthread workers")
    parser.add_argument("--attempts", type=int, default=2400)
    parser.add_argument("--noop", type=int, default=4800, help="GET /health requests (half before, half after)")
    parser.add_argument("--seats", type=int, default=500)
    parser.add_argument("--gateway", choices=("free", "offline"), default="free",
                        help="free: tickets issued at once; offline: seats held as pending bookings")
    parser.add_argument("--max-seconds", type=float, default=120)
    args = parser.parse_args()

    data_dir = tempfile.mkdtemp(prefix="boxoffice-flash-")
    database = Database(os.environ.get("BOXOFFICE_DATABASE_URL", ""), data_dir)
    env = dict(os.environ, BOXOFFICE_DATA_DIR=data_dir, BOXOFFICE_DATABASE_URL=database.url,
               BOXOFFICE_JOBS_IMMEDIATE="1", BOXOFFICE_SECRET_KEY=secrets.token_urlsafe(32))
    os.environ.update(env)
    from core.app import create_app

    create_app()  # migrations, plugin host, tables
    orgid, event_id, tt_id = provision(args.seats, 0 if args.gateway == "free" else 2500)
    port = free_port()
    server = start_server(port, args.workers, env, args.worker_threads)
    backend = "postgresql" if database.admin_url else "sqlite"
    print(f"backend {backend}; gunicorn -w {args.workers} (threads {args.worker_threads}); "
          f"{args.threads} client threads; "
          f"{args.attempts} purchase attempts for {args.seats} seats ({args.gateway})")
    try:
        deadline = time.monotonic() + args.max_seconds
        def health(i):
            return request(port, "GET", "/health")

        def buy(i):
            body = {"eventId": event_id, "email": f"fan{i}@example.com", "name": f"Fan {i}",
                    "items": [{"ticketTypeId": tt_id, "quantity": 1}]}
            return request(port, "POST", "/client/events/tickets/purchase", body, {"orgid": orgid})

        hammer(200, args.threads, health, deadline)  # warm-up
        # The no-op is measured half before and half after the sale, so both loads see the same machine.
        before, before_s = hammer(args.noop // 2, args.threads, health, deadline)
        sales, sales_s = hammer(args.attempts, args.threads, buy, time.monotonic() + args.max_seconds)
        after, after_s = hammer(args.noop - args.noop // 2, args.threads, health, time.monotonic() + args.max_seconds)
        noop, noop_s = before + after, before_s + after_s
    finally:
        server.terminate()
        server.wait(timeout=30)
    statuses: dict[int, int] = {}
    for status, _, _ in sales:
        statuses[status] = statuses.get(status, 0) + 1
    print(f"\n{'endpoint':34} {'count':>7} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'mean':>8}")
    noop_rate = report("GET /health (no-op)", noop, noop_s)
    sale_rate = report("POST purchase (all answers)", sales, sales_s)
    report("  of which 201 (seat won)", [r for r in sales if r[0] == 201], sales_s)
    report("  of which 409 (sold out)", [r for r in sales if r[0] == 409], sales_s)
    print(f"\nstatus codes: {dict(sorted(statuses.items()))}")
    result = audit(event_id, tt_id, args.seats)
    print(f"audit: {result}")
    print(f"oversold: {result['oversold']} (must be 0)")
    print(f"purchase / no-op throughput: {sale_rate / noop_rate:.0%}  (target >= 40%)")
    database.drop()
    ok = result["oversold"] == 0 and result["counters_match_rows"] and statuses.get(500, 0) == 0
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()

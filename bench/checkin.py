"""Benchmark: a door scan storm (POST /events/check-in by QR payload) on gunicorn, against GET /health.

Seeds one tenant, event and N tickets, starts `gunicorn -w W wsgi:app` on loopback, then fires every ticket's
QR K times (shuffled) from P client processes x T threads. Reports throughput, p50/p99 latency, double
admissions (must be 0) and the ratio to the no-op endpoint measured in the same run with the same clients.
Bounded: N x K scans plus the same number of /health calls; loopback only. SQLite by default (a temp file),
PostgreSQL when BOXOFFICE_DATABASE_URL points at a server (a fresh database is created and dropped).

    .venv/bin/python bench/checkin.py [--tickets 5000] [--scans-per-ticket 2] [--workers 4]
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from list_events import _drop_pg, _fresh_pg, percentile  # noqa: E402 - bench/ helpers shared with list_events


def seed(n_tickets: int) -> dict:
    """A tenant, an event with one no-re-entry ticket type, and `n_tickets` issued tickets with their QR texts."""
    import datetime as dt

    from core.db import db, write_transaction
    from core.models import Event, TicketType, utcnow
    from core.services import capacity, issuing, qr
    from tenants import service

    created = service.create_tenant(f"Bench door {secrets.token_hex(3)}")
    org = created.org
    start = utcnow() + dt.timedelta(days=1)
    with write_transaction():
        event = Event.create(org=org.id, name="Bench gig", slug="bench-gig", starts_at=start,
                             ends_at=start + dt.timedelta(hours=4), capacity=None, published_at=utcnow())
        ticket_type = TicketType.create(org=org.id, event=event, name="GA", price=0, capacity=None)
    tickets = []
    for first in range(0, n_tickets, 1000):
        units = min(1000, n_tickets - first)
        with write_transaction():
            capacity.sell_seats([capacity.SeatRequest(ticket_type.id, units)], event.id)
            tickets += issuing.issue_tickets(org, ticket_type, units, holder=issuing.Holder("door@example.com", "Door"),
                                             source="comp")
    if not db.obj.__class__.__name__.startswith("Sqlite"):
        db.execute_sql("ANALYZE ticket")
    payloads = [qr.payload_from_parts(org.signing_private_key, t.id, t.event_id, t.secret_version) for t in tickets]
    return {"org": org.id, "api_key": created.admin_api_key, "event": event.id, "payloads": payloads,
            "ticket_ids": [t.id for t in tickets]}


def _client_process(url: str, jobs: list, threads: int, headers: dict) -> list[tuple[int, int, float, str]]:
    """One load-generating process: `threads` threads share `jobs` [(index, method, path, body)]."""
    results: list = []
    lock = threading.Lock()
    cursor = iter(jobs)

    def run():
        session = requests.Session()
        while True:
            with lock:
                job = next(cursor, None)
            if job is None:
                return
            index, method, path, body = job
            begin = time.perf_counter()
            response = session.request(method, url + path, json=body, headers=headers, timeout=60)
            elapsed = (time.perf_counter() - begin) * 1000
            kind = ""
            if response.status_code != 200:
                try:
                    kind = response.json().get("type", "")
                except ValueError:
                    kind = "non-json"
            with lock:
                results.append((index, response.status_code, elapsed, kind))

    pool = [threading.Thread(target=run) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return results


def storm(url: str, jobs: list, processes: int, threads: int, headers: dict) -> tuple[float, list]:
    """Split `jobs` over client processes; returns (wall seconds, all results)."""
    shares = [jobs[i::processes] for i in range(processes)]
    begin = time.perf_counter()
    with ProcessPoolExecutor(processes) as pool:
        parts = list(pool.map(_client_process, [url] * processes, shares, [threads] * processes,
                              [headers] * processes))
    return time.perf_counter() - begin, [r for part in parts for r in part]


def report(name: str, wall: float, results: list) -> float:
    latencies = [r[2] for r in results]
    rate = len(results) / wall
    print(f"{name:34} {len(results):7d} req {wall:7.2f}s {rate:9.1f} req/s  p50 {percentile(latencies, 50):7.2f} ms"
          f"  p99 {percentile(latencies, 99):7.2f} ms")
    return rate


def wait_until_up(url: str, proc: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("gunicorn exited during start-up")
        try:
            if requests.get(url + "/health", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not answer /health in time")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=5000)
    parser.add_argument("--scans-per-ticket", type=int, default=2, help="each QR is scanned this many times")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--processes", type=int, default=2, help="client processes")
    parser.add_argument("--threads", type=int, default=8, help="threads per client process")
    parser.add_argument("--rounds", type=int, default=5, help="alternate no-op and scan loads this many times")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    if not 1 <= args.tickets <= 100_000 or not 1 <= args.scans_per_ticket <= 10:
        raise SystemExit("--tickets must be 1..100000 and --scans-per-ticket 1..10")

    data_dir = tempfile.mkdtemp(prefix="boxoffice-bench-")
    os.environ["BOXOFFICE_DATA_DIR"] = data_dir
    os.environ.setdefault("BOXOFFICE_SECRET_KEY", secrets.token_urlsafe(32))
    os.environ.setdefault("BOXOFFICE_OPERATOR_TOKEN", "op-" + secrets.token_urlsafe(16))
    os.environ.pop("BOXOFFICE_JOBS_IMMEDIATE", None)
    url_env = os.environ.get("BOXOFFICE_DATABASE_URL", "")
    backend = "postgresql" if url_env.startswith("postgres") else "sqlite"
    os.environ["BOXOFFICE_DATABASE_URL"] = (_fresh_pg(url_env) if backend == "postgresql"
                                            else f"sqlite:///{data_dir}/bench.db")
    from core.app import create_app
    from core.db import db

    create_app()
    t0 = time.perf_counter()
    with db.connection_context():
        seeded = seed(args.tickets)
    print(f"backend {backend}; seeded {args.tickets} tickets in {time.perf_counter() - t0:.1f}s; "
          f"{args.workers} gunicorn workers, {args.processes}x{args.threads} client threads")
    if backend == "postgresql":
        db.obj.close_all()

    port = args.port or _free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", str(args.workers), "-b", f"127.0.0.1:{port}",
                               "--timeout", "60", "--log-level", "warning", "wsgi:app"], cwd=ROOT, env=os.environ)
    try:
        wait_until_up(base, server)
        token = requests.post(base + "/auth/token", json={"apiKey": seeded["api_key"]},
                              headers={"orgid": seeded["org"]}, timeout=10).json()["token"]
        headers = {"orgid": seeded["org"], "Authorization": f"Bearer {token}"}
        scans = [(i, "POST", "/events/check-in", {"qrPayload": p, "scanPoint": f"door-{k}"})
                 for i, p in enumerate(seeded["payloads"]) for k in range(args.scans_per_ticket)]
        random.Random(7).shuffle(scans)
        noop = [(0, "GET", "/health", None)] * len(scans)
        storm(base, noop[:400], args.processes, args.threads, {})  # warm-up: connections, imports, caches
        # Interleave the two loads in rounds so both see the same background load on a shared machine.
        noop_wall = scan_wall = 0.0
        noop_results, results = [], []
        for r in range(args.rounds):
            wall, part = storm(base, noop[r::args.rounds], args.processes, args.threads, {})
            noop_wall, noop_results = noop_wall + wall, noop_results + part
            wall, part = storm(base, scans[r::args.rounds], args.processes, args.threads, headers)
            scan_wall, results = scan_wall + wall, results + part
        noop_rate = report("no-op GET /health", noop_wall, noop_results)
        scan_rate = report("POST /events/check-in (QR)", scan_wall, results)
    finally:
        server.terminate()
        server.wait(15)

    admitted: dict[int, int] = {}
    kinds: dict[str, int] = {}
    for index, status, _, kind in results:
        if status == 200:
            admitted[index] = admitted.get(index, 0) + 1
        else:
            kinds[f"{status} {kind}"] = kinds.get(f"{status} {kind}", 0) + 1
    doubles = sum(1 for count in admitted.values() if count > 1)
    with db.connection_context():
        from core.models import CheckIn, Ticket

        rows = Ticket.select().where(Ticket.event == seeded["event"])
        over = sum(1 for t in rows if t.scan_count > 1)
        logged = CheckIn.select().where((CheckIn.event == seeded["event"]) & (CheckIn.result == "admitted")).count()
    print(f"admitted {len(admitted)}/{args.tickets} tickets; refusals {kinds}")
    print(f"oversold (double admissions): {max(doubles, over)} (must be 0): {doubles} by responses, {over} by "
          f"scan_count; admitted log rows {logged}")
    print(f"check-in / no-op throughput: {scan_rate / noop_rate:.0%}   (target >= 60%)")
    if backend == "postgresql":
        _drop_pg()
    if doubles or over or logged != len(admitted):
        raise SystemExit("DOUBLE ADMISSION DETECTED")


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


if __name__ == "__main__":
    main()

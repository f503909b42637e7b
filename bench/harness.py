"""What the HTTP benchmarks share: the target checkout (`--app-dir`, `--python`), a fresh database, gunicorn on
loopback, one-connection-per-request clients, worker CPU from /proc, percentiles and a machine-readable result.

Never talks to anything but 127.0.0.1, and never leaves a server or a database behind when a run ends.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlparse, urlunparse

BENCH_DIR = Path(__file__).resolve().parent
HERE = BENCH_DIR.parent  # the checkout these bench scripts belong to
RESULT_PREFIX = "BENCH-RESULT "  # `bench/ab.py` reads the line starting with this


def add_target_args(parser: argparse.ArgumentParser) -> None:
    """`--app-dir` / `--python`: which checkout is seeded and served (default: this one and its .venv)."""
    parser.add_argument("--app-dir", type=Path, default=HERE,
                        help="project checkout to seed and serve (its code must be importable by --python)")
    parser.add_argument("--python", default="",
                        help="interpreter that runs gunicorn (default: APP_DIR/.venv/bin/python, else this one)")


def use_target(args: argparse.Namespace) -> None:
    """Make `args.app_dir` the checkout that `import core` finds (call before importing it); fills `args.python`."""
    args.app_dir = args.app_dir.resolve()
    sys.path.insert(0, str(args.app_dir))
    if not args.python:
        venv = args.app_dir / ".venv" / "bin" / "python"
        args.python = str(venv) if venv.exists() else sys.executable


def percentile(samples: list[float], pct: float) -> float:
    """The pct-th percentile of samples (nearest rank); 0 for no samples."""
    if not samples:
        return 0.0
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(pct / 100 * (len(ordered) - 1))))]


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _pg_admin(url: str, sql: str) -> None:
    """Run one statement outside a transaction (CREATE/DROP DATABASE) with whichever driver is installed."""
    try:
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(sql)
    except ImportError:
        import psycopg2

        conn = psycopg2.connect(url)
        conn.autocommit = True
        conn.cursor().execute(sql)
        conn.close()


class Database:
    """A fresh database for one run: a new PostgreSQL database when `url` names a server, else an SQLite file."""

    def __init__(self, url: str, data_dir: str, prefix: str = "boxoffice_bench"):
        self.admin_url = url if url.startswith("postgres") else ""
        self.name = f"{prefix}_{secrets.token_hex(3)}"
        if self.admin_url:
            _pg_admin(self.admin_url, f'CREATE DATABASE "{self.name}"')
            self.url = urlunparse(urlparse(url)._replace(path="/" + self.name))
        else:
            self.url = f"sqlite:///{data_dir}/bench.db"

    @property
    def backend(self) -> str:
        """`postgresql` or `sqlite`."""
        return "postgresql" if self.admin_url else "sqlite"

    def release(self) -> None:
        """Close this process's pooled connections and stop its invalidation listener, if the target has one
        (before the server starts, and before dropping)."""
        try:
            from core import invalidation

            invalidation.stop()
        except ImportError:  # a checkout from before the invalidation bus
            pass
        if self.admin_url:
            from core.db import db

            close_all = getattr(db.obj, "close_all", None)
            if close_all is not None:
                close_all()
            elif not db.is_closed():
                db.close()

    def drop(self) -> None:
        """Remove the PostgreSQL database (the SQLite file lives in a temp folder)."""
        if self.admin_url:
            self.release()
            _pg_admin(self.admin_url, f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def bench_env(database: Database, data_dir: str, **extra: str) -> dict:
    """The environment the app runs with in this process and in gunicorn (also applied to `os.environ`)."""
    env = dict(os.environ, BOXOFFICE_DATA_DIR=data_dir, BOXOFFICE_DATABASE_URL=database.url,
               BOXOFFICE_SECRET_KEY=os.environ.get("BOXOFFICE_SECRET_KEY") or secrets.token_urlsafe(32),
               BOXOFFICE_OPERATOR_TOKEN=os.environ.get("BOXOFFICE_OPERATOR_TOKEN") or "op-" + secrets.token_urlsafe(16),
               **extra)
    os.environ.update(env)
    return env


@contextlib.contextmanager
def fresh_run(args: argparse.Namespace | None, prefix: str, *, jobs_immediate: bool = False):
    """The run's target (see `use_target`), a temp data folder, a fresh database (dropped on leaving) and the
    environment for it; yields (database, env). Background jobs run in the request with `jobs_immediate`,
    else they are queued."""
    if args is not None:
        use_target(args)
    data_dir = tempfile.mkdtemp(prefix=prefix.replace("_", "-") + "-")
    database = Database(os.environ.get("BOXOFFICE_DATABASE_URL", ""), data_dir, prefix)
    env = bench_env(database, data_dir, **({"BOXOFFICE_JOBS_IMMEDIATE": "1"} if jobs_immediate else {}))
    if not jobs_immediate:
        env.pop("BOXOFFICE_JOBS_IMMEDIATE", None)
        os.environ.pop("BOXOFFICE_JOBS_IMMEDIATE", None)
    try:
        yield database, env
    finally:
        database.drop()


def request(port: int, method: str, path: str, body: dict | None = None, headers: dict | None = None):
    """One HTTP request on a new loopback connection; returns (status, json body or None, ms)."""
    begin = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    payload = json.dumps(body).encode() if body is not None else None
    sent = {"Content-Type": "application/json", **(headers or {})} if payload else dict(headers or {})
    try:
        conn.request(method, path, body=payload, headers=sent)
        response = conn.getresponse()
        data = response.read()
    finally:
        conn.close()
    elapsed = (time.perf_counter() - begin) * 1000
    try:
        parsed = json.loads(data) if data else None
    except ValueError:
        parsed = None
    return response.status, parsed, elapsed


def hammer(count: int, threads: int, call, deadline: float) -> tuple[list, float]:
    """Run `call(i)` for i in range(count) on `threads` threads, none started after `deadline` (monotonic);
    returns (results, wall seconds)."""
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


def in_threads(target, count: int) -> None:
    """Run `target()` on `count` threads at once and wait for all of them."""
    threads = [threading.Thread(target=target) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


class Server:
    """`gunicorn wsgi:app` of a checkout on a loopback port, with its workers' CPU time readable from /proc."""

    def __init__(self, app_dir: Path, python: str, workers: int, env: dict, worker_threads: int = 1):
        self.port = free_port()
        kind = ["-k", "gthread", "--threads", str(worker_threads)] if worker_threads > 1 else []
        self.proc = subprocess.Popen([python, "-m", "gunicorn", "-w", str(workers), *kind,
                                      "-b", f"127.0.0.1:{self.port}", "--timeout", "60", "--log-level", "warning",
                                      "wsgi:app"], cwd=str(app_dir), env=env)
        self.workers = workers
        for _ in range(600):
            if self.proc.poll() is not None:
                raise SystemExit("gunicorn exited during start-up")
            try:
                if request(self.port, "GET", "/health")[0] == 200 and len(self.worker_pids()) >= workers:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise SystemExit("gunicorn did not answer /health in time")

    def worker_pids(self) -> list[int]:
        """The gunicorn workers' process ids (from /proc; empty where it is unavailable)."""
        try:
            text = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
        except OSError:
            return []
        return [int(pid) for pid in text.split()]

    def cpu_seconds(self) -> float:
        """User + system CPU time of the live workers so far (0 where /proc is unavailable)."""
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0
        for pid in self.worker_pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
        return total / ticks

    def stop(self) -> None:
        """Stop gunicorn and wait for it."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


class Phase:
    """One measured load (e.g. `GET /auth/me`), accumulated over interleaved rounds."""

    def __init__(self, name: str):
        self.name = name
        self.results: list = []
        self.seconds = 0.0
        self.cpu = 0.0

    def run(self, server: Server, count: int, threads: int, call, deadline: float) -> list:
        """Run `call` `count` times on `threads` threads; adds wall time and worker CPU time to the phase."""
        cpu = server.cpu_seconds()
        results, seconds = hammer(count, threads, call, deadline)
        self.cpu += server.cpu_seconds() - cpu
        self.seconds += seconds
        self.results += results
        return results

    def rate(self, accepted: int | None = None) -> float:
        """Accepted (default: all) units per wall second."""
        done = len(self.results) if accepted is None else accepted
        return done / self.seconds if self.seconds else 0.0

    def summary(self, accepted: int | None = None) -> dict:
        """Count, rate, latency percentiles (of results' last item, ms) and worker CPU ms per unit."""
        latencies = [r[-1] for r in self.results]
        return {"count": len(self.results), "per_s": round(self.rate(accepted), 1),
                "p50_ms": round(percentile(latencies, 50), 2), "p99_ms": round(percentile(latencies, 99), 2),
                "cpu_ms": round(1000 * self.cpu / len(self.results), 2) if self.results else 0.0}


def print_table(rows: dict[str, dict]) -> None:
    """Rows of `Phase.summary()` dicts as a table."""
    print(f"\n{'load':40} {'count':>7} {'per s':>9} {'p50 ms':>8} {'p99 ms':>8} {'cpu ms':>7}")
    for name, row in rows.items():
        print(f"{name:40} {row['count']:7d} {row['per_s']:9.1f} {row['p50_ms']:8.2f} {row['p99_ms']:8.2f} "
              f"{row['cpu_ms']:7.2f}")


def emit_result(bench: str, figures: dict) -> None:
    """The run's figures as one JSON line for `bench/ab.py`."""
    print(RESULT_PREFIX + json.dumps({"bench": bench, **figures}), flush=True)


def live_ticket_seats(condition) -> int:
    """Seats of the live (sold) tickets matching a peewee condition on Ticket: what `sold` counters must equal."""
    from peewee import fn

    from core.models import Ticket

    live = ("valid", "checked_in", "pending_activation")
    return Ticket.select(fn.COALESCE(fn.SUM(Ticket.seats), 0)).where(condition & Ticket.status.in_(live)).scalar()

"""In-process cost of one Flask request: GET /health, GET /auth/me (with a JWT and `orgid`, and with
`Authorization: Token <api key>` alone), a QR check-in, a free box-office sale and a paid box-office order
(purchase + mark-paid), each sale also with a fresh `Idempotency-Key` (`free-idem`, `paid-idem`), timed with
Flask's test client and optionally profiled.

Prints CPU ms per request of this process (client + server: the test client's share is about that of
`health`), the median of several batches, so a busy machine shows less; with `--queries` the SQL statements of
one request per load; with `--profile` where the CPU time goes (cProfile on process time, by own and by
cumulative time). Never opens a socket; the database is a fresh SQLite temp file, or a fresh PostgreSQL
database (dropped at the end) with BOXOFFICE_DATABASE_URL.

    .venv/bin/python bench/requests_profile.py [--requests 300] [--queries] [--profile me,checkin,free,paid]
"""

from __future__ import annotations

import argparse
import cProfile
import itertools
import os
import pstats
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402 - bench/ helpers

BATCHES = 5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300, help="requests per load (split in batches)")
    parser.add_argument("--profile", default="",
                        help="comma-separated loads to profile: health,me,key,checkin,free,paid,free-idem,paid-idem")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--queries", action="store_true", help="also list the SQL statements of one request per load")
    parser.add_argument("--dump", default="", help="also write each profile to DUMP.<load>.prof (pstats format)")
    harness.add_target_args(parser)
    args = parser.parse_args()
    if not 10 <= args.requests <= 20_000:
        raise SystemExit("--requests must be 10..20000")
    with harness.fresh_run(args, "boxoffice_profile") as (database, _):
        measure(args, database.backend)


def measure(args: argparse.Namespace, backend: str) -> None:
    """Seed, warm up, time each load and profile the chosen ones."""
    import checkin
    import orders

    from core.app import create_app
    from core.db import db

    app = create_app()
    n = args.requests
    seeded = orders.seed()
    with db.connection_context():
        door = checkin.seed(n * 2 + 100)
    client = app.test_client()
    token = client.post("/auth/token", json={"apiKey": seeded["api_key"]}, headers={"orgid": seeded["org"]}).json
    staff = {"orgid": seeded["org"], "Authorization": f"Bearer {token['token']}"}
    door_token = client.post("/auth/token", json={"apiKey": door["api_key"]}, headers={"orgid": door["org"]}).json
    door_staff = {"orgid": door["org"], "Authorization": f"Bearer {door_token['token']}"}
    scans = iter(door["payloads"])

    idem_keys = itertools.count()

    def keyed(headers: dict, idem: bool) -> dict:
        return {**headers, "Idempotency-Key": f"bench-{next(idem_keys)}"} if idem else headers

    def sale(ticket_type: str, expect: int = 201, idem: bool = False):
        body = {"eventId": seeded["event"], "email": "guest@example.com", "name": "Guest",
                "items": [{"ticketTypeId": ticket_type, "quantity": 1}]}
        response = client.post("/events/tickets/purchase", json=body, headers=keyed(staff, idem))
        assert response.status_code == expect, response.get_data(as_text=True)
        return response.json

    def paid(idem: bool = False):
        booking = sale(seeded["paid"], idem=idem)["bookingId"]
        response = client.post(f"/events/bookings/{booking}/mark-paid", json={"reference": "till"},
                               headers=keyed(staff, idem))
        assert response.status_code == 200, response.get_data(as_text=True)

    def scan():
        response = client.post("/events/check-in", json={"qrPayload": next(scans), "scanPoint": "door"},
                               headers=door_staff)
        assert response.status_code == 200, response.get_data(as_text=True)

    def ok(path: str, headers: dict | None = None):
        response = client.get(path, headers=headers or {})
        assert response.status_code == 200, response.get_data(as_text=True)

    key = {"Authorization": f"Token {seeded['api_key']}"}
    loads = {"health": lambda: ok("/health"), "me": lambda: ok("/auth/me", staff), "key": lambda: ok("/auth/me", key),
             "checkin": scan,
             "free": lambda: sale(seeded["free"]), "paid": paid,
             "free-idem": lambda: sale(seeded["free"], idem=True), "paid-idem": lambda: paid(idem=True)}
    for call in loads.values():
        for _ in range(min(20, n // 10)):
            call()
    print(f"backend {backend}; app {args.app_dir}; fast lane {os.environ.get('BOXOFFICE_FAST_LANE', '(default)')}")
    print(f"{'load':10} {'CPU ms/request (median of batches)':>36} {'best batch':>11}")
    for name, call in loads.items():
        per = []
        for _ in range(BATCHES):
            begin = time.process_time()
            for _ in range(n // BATCHES):
                call()
            per.append((time.process_time() - begin) * 1000 / (n // BATCHES))
        print(f"{name:10} {statistics.median(per):36.3f} {min(per):11.3f}")
    if args.queries:
        for name, call in loads.items():
            statements = statements_of(call)
            print(f"\n--- {name}: {len(statements)} SQL statements ---")
            for sql in statements:
                print("   ", sql[:160])
    for name in [p for p in args.profile.split(",") if p]:
        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
        for _ in range(n // BATCHES):
            loads[name]()
        profiler.disable()
        if args.dump:
            profiler.dump_stats(f"{args.dump}.{name}.prof")
        stats = pstats.Stats(profiler).strip_dirs()
        print(f"\n=== profile: {name}, {n // BATCHES} requests; by own time ===")
        stats.sort_stats("tottime").print_stats(args.top)
        print(f"=== profile: {name}; by cumulative time ===")
        stats.sort_stats("cumulative").print_stats(args.top)


def statements_of(call) -> list[str]:
    """The SQL statements peewee logs while `call()` runs."""
    import logging

    class Collect(logging.Handler):
        def __init__(self):
            super().__init__(logging.DEBUG)
            self.sql: list[str] = []

        def emit(self, record):
            self.sql.append(str(record.msg[0]) if isinstance(record.msg, tuple) else record.getMessage())

    logger, handler = logging.getLogger("peewee"), Collect()
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        call()
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    return handler.sql


if __name__ == "__main__":
    main()

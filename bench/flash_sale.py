"""Benchmark: a flash sale over real HTTP (gunicorn, several workers) against the no-op GET /health.

Provisions a tenant, an event and a limited ticket type, then fires many concurrent purchase attempts and
reports throughput, p50/p99 latency and oversold seats (must be 0). Loopback only, bounded in count and time.

    BOXOFFICE_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test \
        .venv/bin/python bench/flash_sale.py [--workers 4] [--threads 48] [--attempts 2400] [--seats 500]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402 - bench/ helpers
from harness import hammer, percentile, request  # noqa: E402


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


def audit(event_id: str, tt_id: str, seats: int) -> dict:
    """Counters versus rows after the sale."""
    from core.db import db
    from core.models import Booking, Event, Ticket, TicketType

    with db.connection_context():
        event, tt = Event.get_by_id(event_id), TicketType.get_by_id(tt_id)
        tickets = Ticket.select().where(Ticket.event == event_id).count()
        bookings = Booking.select().where(Booking.event == event_id)
        booked = sum(b.seats for b in bookings if b.status in ("confirmed", "pending"))
        return {"sold": tt.sold, "held": tt.held, "event_sold": event.sold, "event_held": event.held,
                "tickets": tickets, "booked_seats": booked,
                "counters_match_rows": event.sold == harness.live_ticket_seats(Ticket.event == event_id),
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
    harness.add_target_args(parser)
    args = parser.parse_args()
    with harness.fresh_run(args, "boxoffice_flash", jobs_immediate=True) as (database, env):
        ok = run(args, database, env)
    sys.exit(0 if ok else 1)


def run(args: argparse.Namespace, database: harness.Database, env: dict) -> bool:
    """Provision, serve, sell and audit; True when nothing was oversold and counters match rows."""
    from core.app import create_app

    create_app()  # migrations, plugin host, tables
    orgid, event_id, tt_id = provision(args.seats, 0 if args.gateway == "free" else 2500)
    database.release()
    server = harness.Server(args.app_dir, args.python, args.workers, env, args.worker_threads)
    port = server.port
    print(f"backend {database.backend}; app {args.app_dir}; gunicorn -w {args.workers} (threads "
          f"{args.worker_threads}); {args.threads} client threads; "
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
        cpu = server.cpu_seconds()
        sales, sales_s = hammer(args.attempts, args.threads, buy, time.monotonic() + args.max_seconds)
        sale_cpu = server.cpu_seconds() - cpu
        after, after_s = hammer(args.noop - args.noop // 2, args.threads, health, time.monotonic() + args.max_seconds)
        noop, noop_s = before + after, before_s + after_s
    finally:
        server.stop()
    statuses: dict[int, int] = {}
    for status, _, _ in sales:
        statuses[status] = statuses.get(status, 0) + 1
    print(f"\n{'endpoint':34} {'count':>7} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'mean':>8}")
    noop_rate = report("GET /health (no-op)", noop, noop_s)
    sale_rate = report("POST purchase (all answers)", sales, sales_s)
    report("  of which 201 (seat won)", [r for r in sales if r[0] == 201], sales_s)
    report("  of which 409 (sold out)", [r for r in sales if r[0] == 409], sales_s)
    print(f"\nstatus codes: {dict(sorted(statuses.items()))}")
    print(f"server CPU per purchase attempt: {1000 * sale_cpu / max(1, len(sales)):.2f} ms (gunicorn workers)")
    result = audit(event_id, tt_id, args.seats)
    print(f"audit: {result}")
    print(f"oversold: {result['oversold']} (must be 0)")
    print(f"purchase / no-op throughput: {sale_rate / noop_rate:.0%}  (target >= 40%)")
    ok = result["oversold"] == 0 and result["counters_match_rows"] and statuses.get(500, 0) == 0
    harness.emit_result("flash_sale", {"health_per_s": round(noop_rate, 1), "purchase_per_s": round(sale_rate, 1),
                                       "purchase_vs_health": round(sale_rate / noop_rate, 4),
                                       "purchase_cpu_ms": round(1000 * sale_cpu / max(1, len(sales)), 2),
                                       "purchase_p50_ms": round(percentile([r[2] for r in sales], 50), 2),
                                       "audit_ok": ok})
    return ok

if __name__ == "__main__":
    main()

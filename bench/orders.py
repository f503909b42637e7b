"""Benchmark: a paid box-office order (staff purchase, then mark-paid) against GET /auth/me and GET /health.

Seeds a tenant with a paid and a free ticket type, starts `gunicorn -w W wsgi:app` of a checkout on loopback and
runs, interleaved in rounds so all see the same machine: GET /health, GET /auth/me (staff token), a paid order
(`POST /events/tickets/purchase` with the default offline gateway, then `POST /events/bookings/:id/mark-paid`)
and, for reference, a free one-request box-office sale. Every request opens a new connection. Prints the rates,
p50/p99, gunicorn workers' CPU ms per request (or order) from /proc, the ratio paid orders / `/auth/me` (target
>= 15%) and an audit (held/sold counters equal the tickets, one succeeded payment per paid booking).
Bounded in count and time, loopback only. SQLite temp file by default; a fresh PostgreSQL database (dropped at
the end) when BOXOFFICE_DATABASE_URL points at a server.

    BOXOFFICE_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test .venv/bin/python bench/orders.py \
        [--workers 2] [--threads 32] [--orders 800] [--rounds 4] [--app-dir DIR --python PY]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402 - bench/ helpers

PAID_PRICE = 2500


def seed() -> dict:
    """A tenant (its admin API key), a published event without a cap, a paid and a free ticket type."""
    from core.db import db
    from core.models import Event, TicketType, utcnow
    from tenants import service

    now = utcnow()
    with db.connection_context():
        created = service.create_tenant("Bench box office")
        org = created.org
        event = Event.create(org=org.id, name="Box office night", slug="box-office-night",
                             starts_at=now + dt.timedelta(days=3), ends_at=now + dt.timedelta(days=3, hours=3),
                             capacity=None, published_at=now - dt.timedelta(minutes=1))
        paid = TicketType.create(org=org.id, event=event.id, name="Seated", price=PAID_PRICE, capacity=None)
        free = TicketType.create(org=org.id, event=event.id, name="Guest list", price=0, capacity=None)
    return {"org": org.id, "api_key": created.admin_api_key, "event": event.id, "paid": paid.id, "free": free.id}


def audit(seeded: dict) -> dict:
    """Counters against rows: seats held/sold equal live tickets and pending bookings; one payment per paid order."""
    from peewee import fn

    from core.db import db
    from core.models import Booking, Payment, Ticket, TicketType

    with db.connection_context():
        figures = {}
        for label in ("paid", "free"):
            tt = TicketType.get_by_id(seeded[label])
            tickets = harness.live_ticket_seats(Ticket.ticket_type == tt.id)
            figures[label] = {"sold": tt.sold, "held": tt.held, "ticket_seats": tickets}
        pending = (Booking.select(fn.COALESCE(fn.SUM(Booking.seats), 0))
                   .where((Booking.event == seeded["event"]) & (Booking.status == "pending")).scalar())
        figures["pending_booking_seats"] = pending
        paid_bookings = Booking.select(Booking.id).where((Booking.event == seeded["event"]) & (Booking.amount > 0))
        succeeded = (Payment.select(Payment.booking, fn.COUNT(Payment.id).alias("n"))
                     .where(Payment.booking.in_(paid_bookings) & (Payment.status == "succeeded"))
                     .group_by(Payment.booking))
        counts = [row.n for row in succeeded]
        figures["paid_confirmed"] = (Booking.select().where((Booking.event == seeded["event"]) & (Booking.amount > 0)
                                                            & (Booking.status == "confirmed")).count())
        figures["paid_with_payment"] = len(counts)
        figures["doubled_payments"] = sum(1 for n in counts if n > 1)
    paid, free = figures["paid"], figures["free"]
    figures["ok"] = (paid["sold"] == paid["ticket_seats"] and free["sold"] == free["ticket_seats"]
                     and free["held"] == 0 and paid["held"] == pending and figures["doubled_payments"] == 0
                     and figures["paid_with_payment"] == figures["paid_confirmed"])
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=32, help="client threads")
    parser.add_argument("--orders", type=int, default=800, help="paid orders (and free sales) in all")
    parser.add_argument("--requests", type=int, default=2400, help="GET /auth/me (and /health) requests in all")
    parser.add_argument("--rounds", type=int, default=4, help="alternate the loads this many times")
    parser.add_argument("--max-seconds", type=float, default=240, help="stop starting requests after this")
    harness.add_target_args(parser)
    args = parser.parse_args()
    if not (1 <= args.orders <= 20_000 and 1 <= args.requests <= 100_000 and 1 <= args.rounds <= 20
            and 1 <= args.threads <= 256):
        raise SystemExit("--orders 1..20000, --requests 1..100000, --rounds 1..20, --threads 1..256")
    with harness.fresh_run(args, "boxoffice_orders") as (database, env):
        from core.app import create_app

        create_app()  # migrations, plugin host, tables
        seeded = seed()
        database.release()
        print(f"backend {database.backend}; app {args.app_dir}; gunicorn -w {args.workers}; {args.threads} client "
              f"threads; {args.orders} paid orders, {args.orders} free sales, {args.requests} /auth/me and /health")
        figures = run(args, env, seeded)
        result = audit(seeded)
    print(f"audit: {result}")
    figures["audit_ok"] = result["ok"]
    harness.emit_result("orders", figures)
    if not result["ok"]:
        raise SystemExit("AUDIT FAILED: seats or payments do not add up")


def run(args: argparse.Namespace, env: dict, seeded: dict) -> dict:
    """Start the server, run the interleaved loads and print the table; returns the figures."""
    server = harness.Server(args.app_dir, args.python, args.workers, env)
    port, org = server.port, seeded["org"]
    try:
        status, body, _ = harness.request(port, "POST", "/auth/token", {"apiKey": seeded["api_key"]}, {"orgid": org})
        if status != 200:
            raise SystemExit(f"/auth/token answered {status}: {body}")
        staff = {"orgid": org, "Authorization": f"Bearer {body['token']}"}

        def health(i):
            return harness.request(port, "GET", "/health")

        def me(i):
            return harness.request(port, "GET", "/auth/me", headers=staff)

        def sale(i, ticket_type):
            return harness.request(port, "POST", "/events/tickets/purchase",
                                   {"eventId": seeded["event"], "email": f"guest{i}@example.com", "name": f"Guest {i}",
                                    "items": [{"ticketTypeId": ticket_type, "quantity": 1}]}, staff)

        def paid_order(i):
            begin = time.perf_counter()
            status, body, _ = sale(i, seeded["paid"])
            if status != 201:
                return ("purchase", status, (body or {}).get("type", ""), (time.perf_counter() - begin) * 1000)
            booking = body.get("bookingId") or body.get("id")
            status, body, _ = harness.request(port, "POST", f"/events/bookings/{booking}/mark-paid",
                                              {"reference": f"till-{i}"}, staff)
            kind = "" if status == 200 else (body or {}).get("type", "")
            return ("mark-paid", status, kind, (time.perf_counter() - begin) * 1000)

        def free_sale(i):
            status, body, elapsed = sale(100_000 + i, seeded["free"])
            return ("free", status, "" if status == 201 else (body or {}).get("type", ""), elapsed)

        deadline = time.monotonic() + args.max_seconds
        harness.hammer(100, args.threads, health, deadline)  # warm-up: imports, pools, caches in both workers
        harness.hammer(100, args.threads, me, deadline)
        harness.hammer(20, args.threads, free_sale, deadline)
        phases = {name: harness.Phase(name) for name in ("health", "me", "paid", "free")}
        loads = {"health": (health, args.requests), "me": (me, args.requests), "paid": (paid_order, args.orders),
                 "free": (free_sale, args.orders)}
        for r in range(args.rounds):
            for name, (call, total) in loads.items():
                share = total // args.rounds + (1 if r < total % args.rounds else 0)
                offset = r * (total // args.rounds)
                phases[name].run(server, share, args.threads, lambda i, c=call, o=offset: c(o + i), deadline)
    finally:
        server.stop()
    paid_ok = sum(1 for r in phases["paid"].results if r[0] == "mark-paid" and r[1] == 200)
    free_ok = sum(1 for r in phases["free"].results if r[1] == 201)
    failures: dict[str, int] = {}
    for r in phases["paid"].results + phases["free"].results:
        if r[1] not in (200, 201):
            failures[f"{r[0]} {r[1]} {r[2]}"] = failures.get(f"{r[0]} {r[1]} {r[2]}", 0) + 1
    rows = {"GET /health": phases["health"].summary(), "GET /auth/me (staff)": phases["me"].summary(),
            "paid order (purchase + mark-paid)": phases["paid"].summary(paid_ok),
            "free box-office sale (1 request)": phases["free"].summary(free_ok)}
    harness.print_table(rows)
    me_rate = rows["GET /auth/me (staff)"]["per_s"] or 1.0
    paid_rate = rows["paid order (purchase + mark-paid)"]["per_s"]
    free_rate = rows["free box-office sale (1 request)"]["per_s"]
    print(f"\naccepted: {paid_ok}/{len(phases['paid'].results)} paid orders, {free_ok}/{len(phases['free'].results)} "
          f"free sales; failures {failures}")
    print(f"paid orders / auth-me: {paid_rate / me_rate:.1%}  (target >= 15%)")
    print(f"free sales  / auth-me: {free_rate / me_rate:.1%}")
    print(f"paid order / free sale (throughput): {paid_rate / (free_rate or 1.0):.1%}  (target >= 50%)")
    return {"health_per_s": rows["GET /health"]["per_s"], "me_per_s": me_rate, "paid_orders_per_s": paid_rate,
            "free_sales_per_s": free_rate, "paid_vs_me": round(paid_rate / me_rate, 4),
            "free_vs_me": round(free_rate / me_rate, 4), "me_cpu_ms": rows["GET /auth/me (staff)"]["cpu_ms"],
            "paid_cpu_ms": rows["paid order (purchase + mark-paid)"]["cpu_ms"],
            "free_cpu_ms": rows["free box-office sale (1 request)"]["cpu_ms"],
            "paid_p50_ms": rows["paid order (purchase + mark-paid)"]["p50_ms"],
            "me_p50_ms": rows["GET /auth/me (staff)"]["p50_ms"], "failures": sum(failures.values())}


if __name__ == "__main__":
    main()

"""Benchmark and audit: a sale through two nodes at once, one of them SIGKILLed mid-sale.

Starts, on one fresh PostgreSQL database and a Redis of its own (loopback, nothing saved): two nodes
(`gunicorn -w W wsgi:app` each), two job workers (`boxoffice worker`), the loopback Stripe fake, a loopback SMTP
server and a loopback webhook receiver. A tenant with stripe, notifications and automation sells one event: a paid
ticket type (Stripe: purchase, the card is paid at the fake, confirm-order) and a free one, both drawing on the
event's seats, which are fewer than the buyers. Buyers alternate between the nodes; each request carries an
`Idempotency-Key`, and a buyer whose node fails (refused connection, 5xx, a key still running) retries the same
request on the other node. Once `--kill-at` of the buyers started, node 1 (master and workers) is SIGKILLed.
Then every side effect is awaited and audited: 0 oversold, seat counters equal to live tickets, every confirmed
booking has its tickets, one succeeded payment per paid booking (one Stripe charge), its e-mail and its two
webhooks, each exactly once, every buyer sold or refused `sold_out` (none lost), nothing left in the outbox.
Prints throughput and p50/p99 of whole purchases and of `GET /health` in the same run, with their ratios.
Loopback only; bounded in count and time; needs PostgreSQL (BOXOFFICE_DATABASE_URL) and `redis-server`.

    BOXOFFICE_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test .venv/bin/python bench/two_nodes.py \
        [--buyers 600] [--seats 400] [--threads 16] [--workers 2] [--kill-at 0.4] [--app-dir DIR --python PY]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from email.utils import parseaddr
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402 - bench/ helpers

TESTS = harness.HERE / "tests"  # the loopback doubles: Stripe fake, SMTP server, webhook receiver, own Redis
PURCHASE = "/client/events/tickets/purchase"
CONFIRM = "/client/events/tickets/confirm-order"
EVENT_TYPES = ["booking.confirmed", "tickets.issued"]
PAID_PRICE = 20  # major units
RETRY_SECONDS = 60  # a buyer gives up (counted as lost) after retrying this long


class Node:
    """One node: a gunicorn master and its workers, killable at once."""

    def __init__(self, args: argparse.Namespace, env: dict, name: str):
        self.name = name
        self.server = harness.Server(args.app_dir, args.python, args.workers, env)
        self.port = self.server.port
        self.dead = False

    def kill(self) -> None:
        """SIGKILL the master and every worker (a machine lost: no request finishes, nothing is cleaned up)."""
        for pid in [*self.server.worker_pids(), self.server.proc.pid]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.server.proc.wait(10)
        self.dead = True

    def stop(self) -> None:
        """Stop it if it still runs."""
        if not self.dead:
            self.server.stop()


def start_job_worker(args: argparse.Namespace, env: dict) -> subprocess.Popen:
    """A `boxoffice worker` process of the target checkout (its own session)."""
    return subprocess.Popen([args.python, "-c", "from core.cli import main; main()", "worker", "--workers", "2"],
                            cwd=str(args.app_dir), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


def seed(app, stripe_url: str, receiver_url: str, seats: int) -> dict:
    """A tenant with stripe (against the fake), notifications and automation (an endpoint for the sale's two
    events), a published event of `seats` seats, a paid and a free ticket type of `seats` each."""
    from core.db import db
    from tenants import service

    with db.connection_context():
        created = service.create_tenant("Two nodes", plugins=("offline", "stripe", "notifications", "automation"))
        org = created.org.id
        service.configure_plugin(org, "stripe", {"secret_key": "sk_test_" + uuid.uuid4().hex,
                                                 "publishable_key": "pk_test_bench", "api_base": stripe_url,
                                                 "webhook_secret": "whsec_" + uuid.uuid4().hex, "timeout": "5"})
    client = app.test_client()
    token = client.post("/auth/token", json={"apiKey": created.admin_api_key}, headers={"orgid": org}).get_json()
    staff = {"orgid": org, "Authorization": f"Bearer {token['token']}"}

    def post(path: str, body: dict) -> dict:
        answer = client.post(path, json=body, headers=staff)
        if answer.status_code != 201:
            raise SystemExit(f"seeding {path} answered {answer.status_code}: {answer.get_json()}")
        return answer.get_json()

    post("/automation/endpoints", {"url": receiver_url, "eventTypes": EVENT_TYPES})
    def iso(days: float) -> str:
        return (dt.datetime.now(dt.UTC) + dt.timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")

    event = post("/events", {"event": {"name": "Two nodes night", "capacity": seats, "starts_at": iso(30),
                                       "ends_at": iso(30.1), "published_at": iso(-0.01)}})["data"]["id"]
    paid = post(f"/events/{event}/ticket-types", {"name": "Seated", "price": PAID_PRICE, "currency": "USD",
                                                  "capacity": seats})["data"]["id"]
    free = post(f"/events/{event}/ticket-types", {"name": "Guest list", "price": 0, "currency": "USD",
                                                  "capacity": seats})["data"]["id"]
    return {"org": org, "event": event, "paid": paid, "free": free}


class Buyers:
    """The buyers: each buys one ticket through a node, failing over to the other with the same key."""

    def __init__(self, nodes: list[Node], seeded: dict, fake_stripe):
        self.nodes, self.seeded, self.fake = nodes, seeded, fake_stripe
        self.failovers = Counter()  # why a request went to the other node (or again)

    def call(self, first: int, method: str, path: str, body: dict, key: str) -> tuple[int, dict | None]:
        """Send the request to node `first`, else (node down, 5xx, key still running) to the next live one,
        with the same Idempotency-Key, until an answer or RETRY_SECONDS."""
        headers = {"orgid": self.seeded["org"], "Idempotency-Key": key}
        deadline, turn = time.monotonic() + RETRY_SECONDS, first
        while time.monotonic() < deadline:
            node = self.nodes[turn % len(self.nodes)]
            turn += 1
            if node.dead:
                continue
            try:
                status, answer, _ = harness.request(node.port, method, path, body, headers)
            except OSError:
                self.failovers["connection"] += 1
                continue
            kind = (answer or {}).get("type", "")
            if status >= 500 or kind == "idempotency_in_progress":
                self.failovers[f"{status} {kind}".strip()] += 1
                time.sleep(0.2)
                continue
            return status, answer
        return 0, None

    def buy(self, i: int) -> tuple:
        """One buyer (even: paid, odd: free); returns (kind, outcome, booking id, e-mail, ms)."""
        begin = time.perf_counter()
        paid = i % 2 == 0
        kind = "paid" if paid else "free"
        email = f"buyer{i}@example.com"
        body = {"eventId": self.seeded["event"], "email": email, "name": f"Buyer {i}",
                "items": [{"ticketTypeId": self.seeded[kind], "quantity": 1}]}
        if paid:
            body["paymentGateway"] = "stripe"
        status, answer = self.call(i, "POST", PURCHASE, body, f"buy-{i}")
        outcome = "sold" if status == 201 else (answer or {}).get("type") or f"status {status}"
        booking = (answer or {}).get("bookingId")
        if paid and status == 201:
            self.fake.pay(answer["paymentRef"])  # the buyer's card, at the Stripe fake
            status, answer = self.call(i + 1, "POST", CONFIRM, {"bookingId": booking, "paymentGateway": "stripe"},
                                       f"confirm-{i}")  # confirmed through the other node
            outcome = "sold" if status == 200 and answer.get("status") == "confirmed" else f"confirm {status}"
        return kind, outcome, booking, email, (time.perf_counter() - begin) * 1000


def wait_for_effects(smtp, receiver, org: str, bookings: int, timeout: float) -> None:
    """Until every booking's e-mail and two webhooks arrived (or `timeout`), then one more second for repeats."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        mails = {m["Message-ID"] for m in smtp.messages}
        hooks = {r.json()["id"] for r in receiver.received if r.json()["org"] == org}
        if len(mails) >= bookings and len(hooks) >= 2 * bookings:
            break
        time.sleep(0.25)
    time.sleep(1.0)


def audit(seeded: dict, seats: int, results: list, smtp, receiver, fake_stripe) -> dict:
    """What the database, the fake Stripe, the SMTP server and the webhook receiver hold, against the buyers."""
    from peewee import fn

    from core.db import db
    from core.models import Booking, Event, OutboxEntry, Payment, Ticket, TicketType

    org, event_id = seeded["org"], seeded["event"]
    with db.connection_context():
        event = Event.get_by_id(event_id)
        types = {label: TicketType.get_by_id(seeded[label]) for label in ("paid", "free")}
        confirmed = {b.id: b for b in Booking.select().where((Booking.event == event_id)
                                                             & (Booking.status == "confirmed"))}
        statuses = Counter(b.status for b in Booking.select(Booking.status).where(Booking.event == event_id))
        tickets = Counter(t.booking_id for t in Ticket.select(Ticket.booking).where(
            (Ticket.event == event_id) & Ticket.status.in_(("valid", "checked_in", "pending_activation"))))
        payments = Counter(p.booking_id for p in Payment.select(Payment.booking).where(
            Payment.booking.in_(list(confirmed)) & (Payment.status == "succeeded")))
        live_seats = {label: harness.live_ticket_seats(Ticket.ticket_type == tt.id) for label, tt in types.items()}
        open_entries = OutboxEntry.select().where((OutboxEntry.org_id == org) & OutboxEntry.done_at.is_null()).count()
        paid_ids = {b for b, row in confirmed.items() if row.amount > 0}
        held = Booking.select(fn.COALESCE(fn.SUM(Booking.seats), 0)).where(
            (Booking.event == event_id) & (Booking.status == "pending")).scalar()
    mail_ids = [m["Message-ID"] for m in smtp.messages]
    mailed = Counter(parseaddr(str(m["To"]))[1].lower() for m in smtp.messages)
    hooks = [r.json() for r in receiver.received if r.json()["org"] == org]
    hook_keys = Counter((h["type"], h["data"]["booking"]["id"] if h["type"] == "booking.confirmed"
                         else h["data"]["bookingId"]) for h in hooks)
    charged = Counter((i.get("metadata") or {}).get("bookingId") for i in fake_stripe.intents.values()
                      if i["status"] == "succeeded")
    sold = Counter(r[0] for r in results if r[1] == "sold")
    outcomes = Counter(r[1] for r in results)
    buyers_bookings = {r[2] for r in results if r[1] == "sold"}
    figures = {
        "seats": seats, "event_sold": event.sold, "event_held": event.held, "confirmed": len(confirmed),
        "oversold": max(0, event.sold + event.held - seats) + sum(max(0, tt.sold + tt.held - tt.capacity)
                                                                  for tt in types.values()),
        "counters_match_tickets": all(types[k].sold == live_seats[k] for k in types) and event.sold == sum(
            live_seats.values()) and event.held == held,
        "bookings": dict(statuses), "outcomes": dict(outcomes), "sold_paid": sold["paid"], "sold_free": sold["free"],
        "lost_buyers": sum(n for o, n in outcomes.items() if o not in ("sold", "sold_out")),
        "sold_unknown_to_buyers": len(set(confirmed) ^ buyers_bookings),
        "bookings_without_tickets": sum(1 for b in confirmed if tickets[b] != confirmed[b].seats),
        "paid_without_one_payment": sum(1 for b in paid_ids if payments[b] != 1),
        "stripe_charges_not_once": sum(1 for b in paid_ids if charged[b] != 1) + sum(
            1 for b, n in charged.items() if b not in paid_ids),
        "emails": len(mail_ids), "emails_unique": len(set(mail_ids)),
        "buyers_without_one_email": sum(1 for r in results if r[1] == "sold" and mailed[r[3]] != 1),
        "webhooks": len(hooks), "webhooks_unique": len({h["id"] for h in hooks}),
        "webhooks_missing": sum(1 for b in confirmed for t in EVENT_TYPES if hook_keys[(t, b)] == 0),
        "webhooks_doubled": sum(1 for n in hook_keys.values() if n > 1), "outbox_open": open_entries,
    }
    figures["ok"] = (figures["oversold"] == 0 and figures["counters_match_tickets"] and figures["lost_buyers"] == 0
                     and figures["sold_unknown_to_buyers"] == 0 and figures["bookings_without_tickets"] == 0
                     and figures["paid_without_one_payment"] == 0 and figures["stripe_charges_not_once"] == 0
                     and figures["emails"] == figures["emails_unique"] == len(confirmed)
                     and figures["buyers_without_one_email"] == 0
                     and figures["webhooks"] == figures["webhooks_unique"] == 2 * len(confirmed)
                     and figures["webhooks_missing"] == 0 and figures["outbox_open"] == 0
                     and event.sold == min(seats, len(results)))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--buyers", type=int, default=600, help="buyers in all (half paid, half free)")
    parser.add_argument("--seats", type=int, default=400, help="the event's seats (fewer than buyers: a sell-out)")
    parser.add_argument("--threads", type=int, default=16, help="buyers at once")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per node")
    parser.add_argument("--kill-at", type=float, default=0.4, help="SIGKILL node 1 once this share of buyers began")
    parser.add_argument("--health", type=int, default=600, help="GET /health requests (before the sale)")
    parser.add_argument("--max-seconds", type=float, default=300, help="stop starting buyers after this")
    harness.add_target_args(parser)
    args = parser.parse_args()
    if not (2 <= args.buyers <= 20_000 and 1 <= args.seats <= 20_000 and 1 <= args.threads <= 128
            and 0 < args.kill_at < 1 and 1 <= args.workers <= 8 and 1 <= args.health <= 100_000):
        raise SystemExit("--buyers 2..20000, --seats 1..20000, --threads 1..128, --kill-at 0..1, --workers 1..8")
    if not os.environ.get("BOXOFFICE_DATABASE_URL", "").startswith("postgres"):
        raise SystemExit("two nodes share one PostgreSQL: set BOXOFFICE_DATABASE_URL to a server")
    sys.path.insert(0, str(TESTS))
    from fakes.stripe_server import FakeStripe
    from procs import OwnRedis
    from smtp_server import HttpReceiver, SmtpServer

    own_redis, smtp, receiver = OwnRedis().start(), SmtpServer().start(), HttpReceiver().start()
    fake_stripe = FakeStripe().start()
    try:
        with harness.fresh_run(args, "boxoffice_two_nodes") as (database, env):
            env.update(BOXOFFICE_REDIS_URL=own_redis.url, BOXOFFICE_QUEUE_NAME=f"two-nodes-{uuid.uuid4().hex[:8]}",
                       BOXOFFICE_SMTP_URL=f"smtp://127.0.0.1:{smtp.port}", BOXOFFICE_WEBHOOKS_ALLOW_PRIVATE="1",
                       BOXOFFICE_OUTBOX_REDISPATCH_SECONDS="2", BOXOFFICE_OUTBOX_SWEEP_SECONDS="1",
                       BOXOFFICE_OUTBOX_LEASE_SECONDS="10", BOXOFFICE_IDEMPOTENCY_TAKEOVER_SECONDS="3")
            os.environ.update(env)
            from core.app import create_app

            seeded = seed(create_app(), fake_stripe.url, receiver.url, args.seats)
            database.release()
            print(f"backend {database.backend}; app {args.app_dir}; 2 nodes x gunicorn -w {args.workers}, 2 job "
                  f"workers; {args.buyers} buyers ({args.threads} at once) for {args.seats} seats; node 1 "
                  f"SIGKILLed after {args.kill_at:.0%} of the buyers began")
            workers = [start_job_worker(args, env) for _ in range(2)]
            try:
                figures, results, buyers = run(args, env, seeded, fake_stripe)
                confirmed = sum(1 for r in results if r[1] == "sold")
                wait_for_effects(smtp, receiver, seeded["org"], confirmed, timeout=120)
            finally:
                for worker in workers:
                    worker.terminate()
                for worker in workers:
                    worker.wait(30)
            result = audit(seeded, args.seats, results, smtp, receiver, fake_stripe)
    finally:
        fake_stripe.stop()
        receiver.stop()
        smtp.stop()
        own_redis.stop()
    print(f"failovers: {dict(buyers.failovers)}")
    print(f"audit: {result}")
    figures.update(audit_ok=result["ok"], oversold=result["oversold"], lost_buyers=result["lost_buyers"],
                   confirmed=result["confirmed"])
    harness.emit_result("two_nodes", figures)
    if not result["ok"]:
        raise SystemExit("AUDIT FAILED: seats, tickets, payments or side effects do not add up")


def run(args: argparse.Namespace, env: dict, seeded: dict, fake_stripe) -> tuple[dict, list, Buyers]:
    """Start the nodes, measure /health on both, run the buyers, kill node 1 mid-sale; stop the nodes."""
    nodes = [Node(args, env, "node 1")]
    try:
        nodes.append(Node(args, env, "node 2"))
        buyers = Buyers(nodes, seeded, fake_stripe)
        deadline = time.monotonic() + args.max_seconds
        harness.hammer(100, args.threads, lambda i: harness.request(nodes[i % 2].port, "GET", "/health"), deadline)
        health = harness.Phase("health")
        health.run(nodes[0].server, args.health, args.threads,
                   lambda i: harness.request(nodes[i % 2].port, "GET", "/health"), deadline)
        started: dict = {"count": 0, "killed_at": None}
        lock = threading.Lock()

        def buyer(i: int):
            with lock:
                started["count"] += 1
                kill = started["count"] == int(args.buyers * args.kill_at)
            if kill:
                threading.Thread(target=nodes[0].kill, daemon=True).start()
                started["killed_at"] = i
            return buyers.buy(i)

        sale = harness.Phase("sale")
        sale.run(nodes[1].server, args.buyers, args.threads, buyer, deadline)
    finally:
        for node in nodes:
            node.stop()
    accepted = sum(1 for r in sale.results if r[1] == "sold")
    rows = {"GET /health (both nodes)": health.summary(), "buyer (purchase [+ pay + confirm])": sale.summary(accepted)}
    harness.print_table(rows)
    health_row, sale_row = rows["GET /health (both nodes)"], rows["buyer (purchase [+ pay + confirm])"]
    print(f"\nsold {accepted} of {len(sale.results)} buyers; sales/s against /health req/s: "
          f"{sale_row['per_s'] / (health_row['per_s'] or 1):.1%}; buyer p99 / health p99: "
          f"{sale_row['p99_ms'] / (health_row['p99_ms'] or 1):.1f}x")
    return ({"health_per_s": health_row["per_s"], "sales_per_s": sale_row["per_s"],
             "sales_vs_health": round(sale_row["per_s"] / (health_row["per_s"] or 1), 4),
             "health_p99_ms": health_row["p99_ms"], "buyer_p50_ms": sale_row["p50_ms"],
             "buyer_p99_ms": sale_row["p99_ms"],
             "p99_vs_health": round(sale_row["p99_ms"] / (health_row["p99_ms"] or 1), 2),
             "failovers": sum(buyers.failovers.values()), "killed_at_buyer": started["killed_at"]},
            sale.results, buyers)


if __name__ == "__main__":
    main()

"""Benchmark: an on-sale behind a waiting room over real HTTP (gunicorn, PostgreSQL, Redis): 5,000 simulated
buyers join the queue within one second (half before the start, half after) for 1,000 seats at 200 admissions
a second; the admitted ones buy.

Must hold: 0 oversold, admission order equals join order for late arrivals (any join answered before another was
sent has the earlier slot), nobody admitted twice (distinct slots one gap apart; a pass buys once). Printed as
ratios to GET /health in the same run: the join endpoint's p99 under the storm, and the admitted buyers'
purchase p99 against an idle purchase. Loopback only, bounded in count and time.

    BOXOFFICE_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test \
        .venv/bin/python bench/onsale.py [--buyers 5000] [--seats 1000] [--rate 200] [--workers 4]
"""

from __future__ import annotations

import argparse
import datetime as dt
import heapq
import os
import secrets
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402 - bench/ helpers
from harness import hammer, percentile, request  # noqa: E402

REDIS_URL = "redis://127.0.0.1:6379/0"
PURCHASE = "/client/events/tickets/purchase"


def provision(seats: int) -> dict:
    """Tenant, a published event of `seats` seats with one free ticket type, and an ungated twin for the idle
    purchase; returns their ids."""
    from core.db import db
    from core.models import Event, TicketType, utcnow
    from tenants import service

    now = utcnow()
    ids = {}
    with db.connection_context():
        created = service.create_tenant("On Sale")
        org, ids["admin_key"] = created.org, created.admin_api_key
        for key, slug in (("event", "onsale"), ("idle_event", "idle")):
            event = Event.create(org=org.id, name=slug, slug=slug, starts_at=now + dt.timedelta(days=7),
                                 ends_at=now + dt.timedelta(days=7, hours=3), capacity=seats,
                                 published_at=now - dt.timedelta(minutes=1))
            ids[key] = event.id
            ids[key.replace("event", "type")] = TicketType.create(org=org.id, event=event.id, name="Seat", price=0,
                                                                  capacity=seats).id
    ids["org"] = org.id
    return ids


def staff_headers(port: int, orgid: str, key: str) -> dict:
    """An admin JWT for the tenant, exchanged for its admin API key."""
    status, body, _ = request(port, "POST", "/auth/token", {"apiKey": key}, {"orgid": orgid})
    assert status == 200, body
    return {"orgid": orgid, "Authorization": f"Bearer {body['token']}"}


def storm(port: int, orgid: str, event_id: str, buyers: range, threads: int, window: float) -> list:
    """The joins of `buyers`, spread evenly over `window` seconds; each result is (buyer, sent, answered,
    status, body, ms) with monotonic times."""
    begin = time.monotonic() + 0.1

    def join(i):
        time.sleep(max(0.0, begin + window * (i - buyers.start) / len(buyers) - time.monotonic()))
        sent = time.monotonic()
        status, body, ms = request(port, "POST", f"/client/events/{event_id}/queue", None, {"orgid": orgid})
        return i, sent, time.monotonic(), status, body, ms

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(join, buyers))


def health_meanwhile(port: int, threads: int, stop: threading.Event) -> list:
    """GET /health from `threads` clients until `stop` is set (run in a thread during the storm)."""
    results: list = []

    def client():
        while not stop.is_set():
            results.append(request(port, "GET", "/health"))

    harness.in_threads(client, threads)
    return results


def slots(orgid: str, event_id: str, tokens: list[str]) -> list[float]:
    """Each token's admission slot as the queue holds it (seconds since the epoch), read through the app's own
    queue store."""
    from core.db import db
    from core.kits.links import read_signed_link_token
    from core.models import Event, WaitingRoom
    from core.services.waiting_rooms import TICKET_PURPOSE, queue_store

    store = queue_store()
    with db.connection_context():
        room = WaitingRoom.get_by_id(Event.get_by_id(event_id).waiting_room_id)
    now = time.time()
    found = []
    for token in tokens:
        entry = read_signed_link_token(TICKET_PURPOSE, token, 3600)["q"]
        found.append(store.place(room, entry, now).slot)
    return found


def check_order(joins: list, placed: list[float], gap: float) -> dict:
    """Late arrivals in join order (causally: a join answered before another was sent has the earlier slot),
    early ones in a random order, every slot its own and one gap apart."""
    late = [(sent, answered, slot) for (_, sent, answered, _, body, _), slot in zip(joins, placed, strict=True)
            if body["state"] != "before_start"]
    early = [slot for (_, _, _, _, body, _), slot in zip(joins, placed, strict=True) if body["state"] == "before_start"]
    by_answer = sorted(late, key=lambda r: r[1])
    violations, best, k = 0, float("-inf"), 0
    for sent, _, slot in sorted(late, key=lambda r: r[0]):
        while k < len(by_answer) and by_answer[k][1] < sent:
            best = max(best, by_answer[k][2])
            k += 1
        violations += slot <= best
    ordered = sorted(placed)
    spacing = min((b - a for a, b in zip(ordered, ordered[1:], strict=False)), default=gap)
    in_order = sum(a < b for a, b in zip(early, early[1:], strict=False)) / max(1, len(early) - 1)
    return {"late": len(late), "early": len(early), "late_order_violations": violations,
            "distinct_slots": len(set(placed)) == len(placed), "min_spacing_ok": spacing >= gap * 0.999,
            "early_adjacent_in_join_order": round(in_order, 3)}


class Admissions:
    """The admitted buyers' side: each waits for its slot, reads its standing (GET), and buys with its pass."""

    def __init__(self, port: int, orgid: str, event_id: str, type_id: str, threads: int):
        self.port, self.orgid, self.event_id, self.type_id, self.threads = port, orgid, event_id, type_id, threads
        self.heap: list = []
        self.lock = threading.Lock()
        self.polls: list = []
        self.purchases: list = []
        self.passes: dict[int, str] = {}

    def plan(self, due: float, buyer: int, token: str) -> None:
        with self.lock:
            heapq.heappush(self.heap, (due, buyer, token))

    def _act(self, buyer: int, token: str) -> None:
        path = f"/client/events/{self.event_id}/queue?queueToken={token}"
        status, body, ms = request(self.port, "GET", path, None, {"orgid": self.orgid})
        self.polls.append((status, ms))
        if status != 200:
            return
        if body["state"] == "waiting" or body["state"] == "before_start":
            self.plan(time.time() + max(0.05, body["estimatedWaitSeconds"] or 0.5), buyer, token)
            return
        if body["state"] != "admitted":
            return
        self.passes[buyer] = body["queuePass"]
        sale = {"eventId": self.event_id, "email": f"fan{buyer}@example.com", "name": f"Fan {buyer}",
                "items": [{"ticketTypeId": self.type_id, "quantity": 1}]}
        status, _, ms = request(self.port, "POST", PURCHASE, sale, {"orgid": self.orgid,
                                                                    "Queue-Pass": body["queuePass"]})
        self.purchases.append((buyer, status, ms))

    def run(self, deadline: float) -> None:
        def worker():
            while time.monotonic() < deadline:
                with self.lock:
                    if not self.heap:
                        return
                    due, buyer, token = heapq.heappop(self.heap)
                time.sleep(max(0.0, due - time.time()))
                self._act(buyer, token)

        harness.in_threads(worker, self.threads)


def audit(event_id: str, type_id: str, seats: int) -> dict:
    """Counters versus rows after the sale, and passes spent versus bookings."""
    from core.db import db
    from core.models import Booking, Event, QueuePassUse, Ticket, TicketType

    with db.connection_context():
        event, tt = Event.get_by_id(event_id), TicketType.get_by_id(type_id)
        tickets = Ticket.select().where(Ticket.event == event_id).count()
        bookings = Booking.select().where(Booking.event == event_id).count()
        spent = QueuePassUse.select().where(QueuePassUse.event_id == event_id).count()
        return {"sold": tt.sold, "held": tt.held, "event_sold": event.sold, "tickets": tickets,
                "bookings": bookings, "passes_spent": spent,
                "counters_match_rows": event.sold == harness.live_ticket_seats(Ticket.event == event_id),
                "oversold": max(0, tt.sold + tt.held - seats) + max(0, tickets - tt.sold)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--buyers", type=int, default=5000)
    parser.add_argument("--seats", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=200.0, help="admissions per second")
    parser.add_argument("--window", type=float, default=1.0, help="seconds the joins are spread over")
    parser.add_argument("--start-after", type=float, default=0.5,
                        help="the share of the buyers who join before the start (the rest join after it)")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--worker-threads", type=int, default=1, help="> 1: gunicorn gthread workers")
    parser.add_argument("--threads", type=int, default=256, help="client threads of the join storm")
    parser.add_argument("--buyer-threads", type=int, default=48, help="client threads of the admitted buyers")
    parser.add_argument("--idle", type=int, default=400, help="idle purchases and /health requests")
    parser.add_argument("--max-seconds", type=float, default=240)
    harness.add_target_args(parser)
    args = parser.parse_args()
    queue_name = f"boxoffice-onsale-{secrets.token_hex(3)}"
    os.environ.update(BOXOFFICE_REDIS_URL=os.environ.get("BOXOFFICE_REDIS_URL") or REDIS_URL,
                      BOXOFFICE_QUEUE_NAME=queue_name)
    try:
        with harness.fresh_run(args, "boxoffice_onsale", jobs_immediate=True) as (database, env):
            ok = run(args, database, env)
    finally:
        import redis

        client = redis.Redis.from_url(os.environ["BOXOFFICE_REDIS_URL"])
        for key in client.scan_iter(f"{queue_name}:*"):
            client.delete(key)
    sys.exit(0 if ok else 1)


def run(args: argparse.Namespace, database: harness.Database, env: dict) -> bool:
    """Provision, serve, storm, admit, buy and audit; True when every must-hold check passed."""
    from core.app import create_app

    create_app()
    ids = provision(args.seats)
    database.release()
    server = harness.Server(args.app_dir, args.python, args.workers, env, args.worker_threads)
    port, orgid = server.port, ids["org"]
    print(f"backend {database.backend} + Redis; gunicorn -w {args.workers} (threads {args.worker_threads}); "
          f"{args.buyers} buyers joining within {args.window} s for {args.seats} seats at {args.rate:g}/s")
    try:
        deadline = time.monotonic() + args.max_seconds

        def health(i):
            return request(port, "GET", "/health")

        def idle_buy(i):
            sale = {"eventId": ids["idle_event"], "email": f"idle{i}@example.com", "name": "Idle",
                    "items": [{"ticketTypeId": ids["idle_type"], "quantity": 1}]}
            return request(port, "POST", PURCHASE, sale, {"orgid": orgid})

        hammer(200, args.buyer_threads, health, deadline)   # warm-up
        hammer(100, args.buyer_threads, idle_buy, deadline)
        noop, _ = hammer(args.idle, args.buyer_threads, health, deadline)
        idle, _ = hammer(args.idle, args.buyer_threads, idle_buy, deadline)
        staff = staff_headers(port, orgid, ids["admin_key"])
        room_path = f"/events/{ids['event']}/waiting-room"
        later = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()
        status, body, _ = request(port, "PUT", room_path, {"startsAt": later, "ratePerSecond": args.rate}, staff)
        assert status == 200, body
        early = int(args.buyers * args.start_after)
        stop = threading.Event()
        with ThreadPoolExecutor(1) as side:
            meanwhile = side.submit(health_meanwhile, port, 4, stop)
            # the crowd before the on-sale, then staff start it (now), then the crowd after it: together the
            # buyers' joins are spread over `--window` seconds
            joins = storm(port, orgid, ids["event"], range(early), args.threads, args.window * args.start_after)
            now = dt.datetime.now(dt.UTC).isoformat()
            status, body, _ = request(port, "PUT", room_path, {"startsAt": now, "ratePerSecond": args.rate}, staff)
            assert status == 200, body
            start = dt.datetime.fromisoformat(body["data"]["startsAt"].replace("Z", "+00:00"))
            joins += storm(port, orgid, ids["event"], range(early, args.buyers), args.threads,
                           args.window * (1 - args.start_after))
            stop.set()
            health_storm = meanwhile.result()
        joined = [j for j in joins if j[3] == 201]
        window = max(j[2] for j in joins) - min(j[1] for j in joins)
        admissions = Admissions(port, orgid, ids["event"], ids["type"], args.buyer_threads)
        for buyer, _, _, _, answer, _ in joined:
            admits = answer["admitsAt"]
            due = (dt.datetime.fromisoformat(admits.replace("Z", "+00:00")) if admits else start).timestamp()
            admissions.plan(due, buyer, answer["queueToken"])
        admissions.run(deadline)
        replays = [request(port, "POST", PURCHASE, {"eventId": ids["event"], "email": "again@example.com",
                                                    "name": "Again", "items": [{"ticketTypeId": ids["type"],
                                                                                "quantity": 1}]},
                           {"orgid": orgid, "Queue-Pass": admissions.passes[buyer]})[0]
                   for buyer, status, _ in admissions.purchases[:50] if status == 201]
        noop_after, _ = hammer(args.idle, args.buyer_threads, health, deadline)
    finally:
        server.stop()
    noop += noop_after
    placed = slots(orgid, ids["event"], [j[4]["queueToken"] for j in joined])
    order = check_order(joined, placed, 1.0 / args.rate)
    result = audit(ids["event"], ids["type"], args.seats)
    bought = [p for p in admissions.purchases if p[1] == 201]
    statuses: dict[int, int] = {}
    for _, status, _ in admissions.purchases:
        statuses[status] = statuses.get(status, 0) + 1
    health_p99 = percentile([r[2] for r in noop], 99)
    health_storm_p99 = percentile([r[2] for r in health_storm], 99)
    join_p99 = percentile([j[5] for j in joins], 99)
    buy_p99 = percentile([p[2] for p in admissions.purchases], 99)
    idle_p99 = percentile([r[2] for r in idle], 99)
    print(f"\njoins: {len(joined)}/{len(joins)} answered 201 over {window:.2f} s "
          f"({len(joins) / window:.0f}/s); {order['early']} before the start, {order['late']} after")
    print(f"order: {order}")
    print(f"admitted buyers' purchases: {dict(sorted(statuses.items()))}; standing reads: {len(admissions.polls)}")
    print(f"a pass bought twice: {sum(s == 201 for s in replays)} of {len(replays)} replays (must be 0)")
    print(f"audit: {result}")
    print(f"\n{'p99 ms':40} {'ms':>8} {'/ health':>9}")
    for name, value in (("GET /health (idle)", health_p99), ("GET /health under the storm", health_storm_p99),
                        ("POST queue (join) under the storm", join_p99),
                        ("POST purchase, admitted buyers", buy_p99), ("POST purchase, idle server", idle_p99)):
        print(f"{name:40} {value:8.2f} {value / health_p99:9.2f}")
    print(f"join p99 / /health p99 under the same storm: {join_p99 / health_storm_p99:.2f}")
    print(f"admitted purchase p99 / idle purchase p99: {buy_p99 / idle_p99:.2f}")
    ok = (result["oversold"] == 0 and result["counters_match_rows"] and order["late_order_violations"] == 0
          and order["distinct_slots"] and order["min_spacing_ok"] and not any(s == 201 for s in replays)
          and result["passes_spent"] == len(bought) == result["bookings"] and statuses.get(500, 0) == 0
          and len(joined) == len(joins))
    print(f"\nmust hold (0 oversold, late arrivals in join order, nobody admitted twice): {'yes' if ok else 'NO'}")
    harness.emit_result("onsale", {"health_p99_ms": round(health_p99, 2), "join_p99_vs_health": round(
        join_p99 / health_p99, 2), "join_p99_vs_health_in_storm": round(join_p99 / health_storm_p99, 2),
        "purchase_p99_vs_idle": round(buy_p99 / idle_p99, 2),
        "oversold": result["oversold"], "audit_ok": ok})
    return ok


if __name__ == "__main__":
    main()

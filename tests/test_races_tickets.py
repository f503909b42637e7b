"""Races over real HTTP (threads + requests against the live server): one winner for every state change."""

from __future__ import annotations

import threading

import audits
import requests
from ticket_factory import issue, make_event, reload

from core import db as database
from core.models import CheckIn, Ticket, Transfer
from core.services import qr


def storm(calls: list) -> list[requests.Response]:
    """Run every zero-argument callable in its own thread, released together; responses in call order."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(i, call):
        barrier.wait()
        results[i] = call()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def poster(live_server, tenant, path: str, body: dict):
    headers = {"orgid": tenant.orgid, "Authorization": f"Bearer {tenant.staff_token}"}
    return lambda: requests.post(live_server.url + path, json=body, headers=headers, timeout=60)


def admitted_rows(ticket_id: str) -> int:
    with database.db.connection_context():
        return CheckIn.select().where((CheckIn.ticket == ticket_id) & (CheckIn.result == "admitted")).count()


def test_many_doors_scanning_one_ticket_admit_it_once(live_server, tenant):
    _, ticket_type = make_event(tenant)
    (ticket,) = issue(tenant, ticket_type)
    body = {"qrPayload": qr.payload_for(tenant.org, ticket), "scanPoint": "door"}
    responses = storm([poster(live_server, tenant, "/events/check-in", {**body, "scanPoint": f"door-{i}"})
                       for i in range(16)])
    codes = sorted(r.status_code for r in responses)
    assert codes == [200] + [409] * 15
    assert {r.json()["type"] for r in responses if r.status_code == 409} == {"already_checked_in"}
    assert reload(ticket.id).scan_count == 1 and admitted_rows(ticket.id) == 1


def test_reentry_limit_holds_under_concurrency(live_server, tenant):
    _, ticket_type = make_event(tenant, allow_reentry=True, reentry_limit=3)
    (ticket,) = issue(tenant, ticket_type)
    responses = storm([poster(live_server, tenant, f"/events/check-in/{ticket.id}", {}) for _ in range(12)])
    assert sum(r.status_code == 200 for r in responses) == 3
    assert reload(ticket.id).scan_count == 3 and admitted_rows(ticket.id) == 3


def test_refund_racing_check_in_ends_consistent(live_server, tenant):
    event, ticket_type = make_event(tenant)
    tickets = issue(tenant, ticket_type, 6)
    for ticket in tickets:
        scan, refund = storm([
            poster(live_server, tenant, "/events/check-in", {"qrPayload": qr.payload_for(tenant.org, ticket)}),
            poster(live_server, tenant, f"/events/tickets/{ticket.id}/refund", {}),
        ])
        # Rule: staff may refund a checked-in ticket, so the refund always wins its own claim; the scan
        # either came first (admitted, then refunded) or found the ticket refunding/refunded (revoked).
        assert refund.status_code == 200, refund.json()
        assert scan.status_code in (200, 409), scan.json()
        if scan.status_code == 409:
            assert scan.json()["type"] == "ticket_revoked"
        final = reload(ticket.id)
        assert final.status == "refunded"
        admitted = 1 if scan.status_code == 200 else 0
        assert final.scan_count == admitted == admitted_rows(ticket.id)
    with database.db.connection_context():
        assert audits.counters_match_rows(event.id)


def test_concurrent_transfers_one_winner(live_server, tenant):
    _, ticket_type = make_event(tenant)
    (ticket,) = issue(tenant, ticket_type)
    responses = storm([poster(live_server, tenant, f"/events/tickets/{ticket.id}/transfer",
                              {"toEmail": f"friend{i}@example.com"}) for i in range(10)])
    codes = sorted(r.status_code for r in responses)
    assert codes == [201] + [409] * 9
    assert {r.json()["type"] for r in responses if r.status_code == 409} == {"not_transferable"}
    with database.db.connection_context():
        assert Ticket.select().where(Ticket.transferred_from == ticket.id).count() == 1
        assert Transfer.select().where(Transfer.ticket == ticket.id).count() == 1
    assert reload(ticket.id).status == "transferred"


def test_concurrent_refunds_and_cancels_one_winner(live_server, tenant):
    event, ticket_type = make_event(tenant)
    first, second = issue(tenant, ticket_type, 2)
    refunds = storm([poster(live_server, tenant, f"/events/tickets/{first.id}/refund", {}) for _ in range(8)])
    assert sorted(r.status_code for r in refunds) == [200] + [409] * 7
    cancels = storm([poster(live_server, tenant, f"/events/tickets/{second.id}/cancel", {}) for _ in range(8)])
    assert sorted(r.status_code for r in cancels) == [200] + [409] * 7
    with database.db.connection_context():
        assert audits.counters_match_rows(event.id)
        assert reload(first.id).status == "refunded" and reload(second.id).status == "cancelled"

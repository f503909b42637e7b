"""Offline door uploads under real concurrency, against gunicorn with two worker processes: devices uploading the
same scans at once record each scan once; two devices that admitted the same single-entry ticket offline make
exactly one door conflict per ticket, whose `checkin.conflict` webhook goes out once through the outbox."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from door_world import device, door_member, offline_scan
from procs import ServerProcess, boxoffice_env, free_port, gunicorn_command
from smtp_server import HttpReceiver
from ticket_factory import issue, make_event

from core import db as database
from core.models import CheckIn, DoorConflict, Ticket


@pytest.fixture(scope="module")
def server():
    """gunicorn with two workers on this run's database; webhooks may reach the loopback receiver."""
    port = free_port()
    env = boxoffice_env(BOXOFFICE_WEBHOOKS_ALLOW_PRIVATE="1")
    with ServerProcess(gunicorn_command(port, workers=2), port, env=env) as running:
        yield running


def upload(server, tenant, token: str, event_id: str, scans: list[dict]) -> list[dict]:
    answer = requests.post(f"{server.url}/events/{event_id}/door-scans", json={"scans": scans}, timeout=120,
                           headers={"orgid": tenant.orgid, "Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    return answer.json()["scans"]


def at_once(calls) -> list:
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(lambda call: call(), calls))


def test_devices_uploading_the_same_scans_at_once_record_each_once(server, tenant):
    event, ticket_type = make_event(tenant, allow_reentry=True, reentry_limit=None)
    tickets = issue(tenant, ticket_type, 12)
    member = door_member(tenant)
    tokens = [device(tenant, member, event.id, "main")[0].token for _ in range(2)]
    scans = [offline_scan(ticket_id=ticket.id) for ticket in tickets]
    answers = at_once([lambda token=token: upload(server, tenant, token, event.id, scans)
                       for token in tokens for _ in range(3)])
    for index, scan in enumerate(scans):
        results = sorted(answer[index]["result"] for answer in answers)
        assert results == ["duplicate"] * 5 + ["recorded"], (scan["scanId"], results)
    with database.db.connection_context():
        assert CheckIn.select().where(CheckIn.scan_id.in_([s["scanId"] for s in scans])).count() == 12
        assert {t.scan_count for t in Ticket.select().where(Ticket.id.in_([t.id for t in tickets]))} == {1}


def test_two_offline_doors_admitting_one_ticket_make_one_conflict_sent_once(server, tenant, config, monkeypatch):
    monkeypatch.setattr(config, "webhooks_allow_private", True)
    receiver = HttpReceiver().start()
    try:
        tenant.enable("automation")
        made = tenant.staff.post("/automation/endpoints", json={"url": receiver.url,
                                                                "eventTypes": ["checkin.conflict"]})
        assert made.status_code == 201, made.get_json()
        event, ticket_type = make_event(tenant)
        tickets = issue(tenant, ticket_type, 8)
        north = device(tenant, door_member(tenant), event.id, "north")[0].token
        south = device(tenant, door_member(tenant), event.id, "south")[0].token
        north_scans = [offline_scan(ticket_id=t.id, scan_point="north") for t in tickets]
        south_scans = [offline_scan(ticket_id=t.id, scan_point="south") for t in tickets]
        answers = at_once([lambda: upload(server, tenant, north, event.id, north_scans),
                           lambda: upload(server, tenant, south, event.id, south_scans),
                           lambda: upload(server, tenant, south, event.id, south_scans),
                           lambda: upload(server, tenant, north, event.id, north_scans)])
        for index, ticket in enumerate(tickets):
            results = sorted(answer[index]["result"] for answer in answers)
            assert results == ["conflict", "duplicate", "duplicate", "recorded"], (ticket.id, results)

        with database.db.connection_context():
            conflicts = list(DoorConflict.select().where(DoorConflict.event_id == event.id))
            assert sorted(c.ticket_id for c in conflicts) == sorted(t.id for t in tickets)
            assert all(c.scan_count == 2 and c.scan_limit == 1 and len(c.scan_ids) == 2 for c in conflicts)
            assert {t.scan_count for t in Ticket.select().where(Ticket.id.in_([t.id for t in tickets]))} == {2}
        listed = tenant.staff.get(f"/events/{event.id}/door-conflicts").get_json()["conflicts"]
        assert len(listed) == 8

        deadline = time.monotonic() + 60
        while len(receiver.received) < 8 and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1.5)  # anything sent twice would arrive by now
        events = [r.json() for r in receiver.received]
        assert [e["type"] for e in events] == ["checkin.conflict"] * 8
        assert sorted(e["data"]["conflict"]["ticketId"] for e in events) == sorted(t.id for t in tickets)
        assert all(e["data"]["ticket"]["id"] == e["data"]["conflict"]["ticketId"] for e in events)
        deliveries = tenant.staff.get("/automation/deliveries?page[size]=50").get_json()["data"]
        assert [(d["eventType"], d["status"]) for d in deliveries] == [("checkin.conflict", "succeeded")] * 8
    finally:
        receiver.stop()

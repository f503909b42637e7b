"""Test helpers for door devices: a signed-in door member, a device for an event, offline scans to upload."""

from __future__ import annotations

import datetime as dt
import uuid

from test_members import member

from core import db as database
from core.models import CheckIn


def door_member(tenant, role: str = "door"):
    """A signed-in member of `tenant` with `role` (a client carrying their token)."""
    return member(tenant, f"{role}-{uuid.uuid4().hex[:10]}@door.example", role)


def device(tenant, client, event_id: str, scan_point: str | None = None, name: str = "Gate phone"):
    """Set up a door device for `event_id` as `client` (a signed-in member): (client with the device token,
    the answer)."""
    answer = client.post(f"/events/{event_id}/door-devices", json={"scanPoint": scan_point, "name": name})
    assert answer.status_code == 201, answer.get_json()
    body = answer.get_json()
    return tenant.guest.as_token(body["token"]), body


def offline_scan(verdict: str = "admitted", *, code: str | None = None, ticket_id: str | None = None,
                 scan_point: str | None = "main", reason: str | None = None, at: dt.datetime | None = None) -> dict:
    """One scan a device decided offline, as it uploads it."""
    scan = {"scanId": str(uuid.uuid4()), "scanPoint": scan_point, "verdict": verdict,
            "scannedAt": (at or dt.datetime.now(dt.UTC)).isoformat()}
    scan.update({"code": code} if code is not None else {"ticketId": ticket_id})
    if reason:
        scan["reason"] = reason
    return scan


def scan_log(ticket_id: str) -> list[CheckIn]:
    """The ticket's scan log, oldest first."""
    with database.db.connection_context():
        return list(CheckIn.select().where(CheckIn.ticket == ticket_id).order_by(CheckIn.created_at, CheckIn.id))

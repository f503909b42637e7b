"""Scan uploads: the scans a door device decided offline, recorded once each (by the device's scan id) in the
scan log through the check-in service, admissions counted on their tickets even beyond a limit, and what such
an admission broke kept as a door conflict.

Each scan is its own write transaction (a bad one never undoes another, and no upload holds two tickets' locks).
Never re-decides a scan: the door already admitted or refused the person; the server records what happened.
"""

from __future__ import annotations

import datetime as dt

from core.db import write_transaction
from core.errors import ApiError
from core.identity import Identity
from core.models import Event
from core.services import checkin, door_conflicts
from core.services.checkin import OfflineScan
from core.services.door_rules import Door
from core.tenancy import get_scoped

MAX_SCANS = 500  # scans per upload


def _naive_utc(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC).replace(tzinfo=None) if moment.tzinfo else moment


def _record_one(org, event: Event, identity: Identity, scan: dict) -> dict:
    """One uploaded scan: `recorded`, `duplicate` (its scan id was recorded before: nothing changes),
    `conflict` (recorded; the admission broke a door rule, kept as a door conflict) or `rejected` (the code names
    no ticket of the tenant, or is forged: nothing is recorded, as an online scan of it logs nothing). A rotating
    code is judged at the device's `scannedAt`: a code live when the door scanned it is no stale upload."""
    answer = {"scanId": scan["scanId"], "ticket": None}
    try:
        scanned_at = _naive_utc(scan["scannedAt"])
        if scan.get("ticketId") is not None:
            ticket_id, door = scan["ticketId"], Door(event.id, scan["scanPoint"])
        else:
            ticket_id, door = checkin.scanned_ticket(org, scan["code"], event.id, scan["scanPoint"],
                                                     scan["scannedAt"].timestamp())
        offline = OfflineScan(scan["scanId"], scanned_at, scan["scanPoint"], scan["verdict"] == "admitted",
                              scan.get("reason"), identity.device_id)
        with write_transaction():
            record = checkin.record_offline(org, ticket_id, door, offline, identity.sub)
            conflict = None
            if record.recorded and record.broken is not None:
                conflict = door_conflicts.note_conflict(org, record.ticket, event.id, record.broken, scan["scanId"])
    except ApiError as refused:
        return {**answer, "result": "rejected",
                "error": {"type": refused.type, "message": refused.message, "reason": refused.extra.get("reason")}}
    answer["ticket"] = checkin.ticket_summary(record.ticket)
    if not record.recorded:
        return {**answer, "result": "duplicate"}
    if conflict is not None:
        return {**answer, "result": "conflict", "conflictId": conflict.id, "rule": conflict.rule}
    return {**answer, "result": "recorded"}


def upload(org, identity: Identity, event_id: str, scans: list[dict]) -> list[dict]:
    """Record a device's offline scans for `event_id` (404 `event_not_found`), in the order sent; one answer per
    scan (`_record_one`). A scan id repeated within the upload is recorded once."""
    event = get_scoped(Event, org, event_id, "event")
    return [_record_one(org, event, identity, scan) for scan in scans]

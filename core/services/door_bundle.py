"""The offline door bundle: everything a door device needs to decide a scan without the network, for one event:
the rule table, the tenant's public key, the event's door secret, its tickets (and a session's passes) with
their scan counts, and the revoked ones.

Reads only, in a constant number of statements whatever the number of tickets (one for the tickets, two more
for a session's participation and pass counts), every one constrained to the tenant. Never decides a scan: the
device's evaluator runs `door_rules.as_json()`, the server's own table.
"""

from __future__ import annotations

import base64
import hashlib

import orjson

from core.models import Event, PassAdmission, Ticket, TicketType, utcnow
from core.models.participation import Participation
from core.services import door_rules, qr, rotating_qr
from core.services.door_devices import event_block
from core.tenancy import along, get_scoped, scoped
from core.timefmt import iso_utc

_TICKET_COLUMNS = (Ticket.id, Ticket.event, Ticket.ticket_type, Ticket.customer, Ticket.holder_name, Ticket.status,
                   Ticket.secret_version, Ticket.scan_count, Ticket.data, Ticket.last_scanned_at,
                   Ticket.last_scan_point)
_TYPE_COLUMNS = (TicketType.id, TicketType.name, TicketType.accepted_scan_points, TicketType.allow_reentry,
                 TicketType.reentry_limit, TicketType.is_pass, TicketType.admits_every_session, TicketType.rotating_qr)


def _door_secret(org, event_id: str, tickets: list[Ticket]) -> str | None:
    """The base64 of the event's door secret (`rotating_qr.door_secret`, kept per process), made now when one of
    its tickets shows a rotating code and it has none yet; None when it has none and needs none."""
    needed = any(t.event_id == event_id and t.ticket_type.rotating_qr for t in tickets)
    secret = rotating_qr.door_secret(org, event_id, create=needed)
    return base64.b64encode(secret).decode() if secret is not None else None


def _ticket_entry(ticket: Ticket) -> dict:
    ticket_type = ticket.ticket_type
    return {
        "id": ticket.id, "eventId": ticket.event_id, "typeId": ticket_type.id, "typeName": ticket_type.name,
        "holderName": ticket.holder_name, "status": ticket.status, "secretVersion": ticket.secret_version,
        "scanCount": ticket.scan_count, "poolCode": qr.barcode_of(ticket), "rotatingQr": bool(ticket_type.rotating_qr),
        "acceptedScanPoints": list(ticket_type.accepted_scan_points or []),
        "allowReentry": bool(ticket_type.allow_reentry), "reentryLimit": ticket_type.reentry_limit,
        "scanLimit": door_rules.scan_limit(ticket_type),
        "admitsEverySession": bool(ticket_type.is_pass and ticket_type.admits_every_session),
        "lastScannedAt": iso_utc(ticket.last_scanned_at), "lastScanPoint": ticket.last_scan_point,
    }


def _session_entries(org, session: Event, passes: list[Ticket]) -> dict[str, dict]:
    """For a session: per parent ticket, whether its holder attends the session and its admissions there."""
    attending = {row.customer_id: row.scan_count for row in
                 scoped(Participation, org, Participation.customer, Participation.scan_count)
                 .where((Participation.session == session.id)
                        & Participation.status.in_(door_rules.SESSION_RULE.params["participationStatuses"]))}
    pass_counts = {row.ticket_id: row.scan_count for row in
                   scoped(PassAdmission, org, PassAdmission.ticket_id, PassAdmission.scan_count)
                   .where(PassAdmission.session_id == session.id)}
    entries = {}
    for ticket in passes:
        if not door_rules.needs_session_choice(ticket.ticket_type):
            entries[ticket.id] = {"attending": True, "scanCount": pass_counts.get(ticket.id, 0)}
        else:
            count = attending.get(ticket.customer_id) if ticket.customer_id else None
            entries[ticket.id] = {"attending": count is not None, "scanCount": count or 0}
    return entries


def bundle(org, event_id: str) -> dict:
    """The event's offline bundle (404 `event_not_found`); `etag` is a digest of everything but `generatedAt`.

    No delta (`?since=`): not every write of a ticket stamps its `updated_at` (cancellation, refunds and
    attendee changes update other columns alone), so a delta by time could miss a revocation, the one change a
    door must not miss. The device sends `If-None-Match` instead and an unchanged bundle costs no transfer."""
    event = get_scoped(Event, org, event_id, "event")
    owners = [event.id] + ([event.parent_event_id] if event.parent_event_id else [])
    tickets = list(scoped(Ticket, org, *_TICKET_COLUMNS, *_TYPE_COLUMNS)
                   .join(TicketType, on=along(Ticket.ticket_type))
                   .where(Ticket.event.in_(owners)).order_by(Ticket.id))
    entries = [_ticket_entry(ticket) for ticket in tickets]
    if event.parent_event_id:
        passes = [ticket for ticket in tickets if ticket.event_id == event.parent_event_id]
        sessions = _session_entries(org, event, passes)
        for entry in entries:
            if entry["id"] in sessions:
                entry["session"] = sessions[entry["id"]]
    secrets = {owner: _door_secret(org, owner, tickets) for owner in owners}
    revoked_statuses = door_rules.RULES["revoked"].params["statuses"]
    content = {
        "event": event_block(event), "rules": door_rules.as_json(), "keys": qr.public_key_info(org),
        "doorSecret": secrets[event.id], "doorSecrets": secrets,
        "tickets": entries, "revoked": [entry["id"] for entry in entries if entry["status"] in revoked_statuses],
    }
    etag = hashlib.sha256(orjson.dumps(content, option=orjson.OPT_SORT_KEYS)).hexdigest()[:32]
    return {**content, "generatedAt": iso_utc(utcnow()), "etag": etag}

"""Door conflicts: offline admissions of one ticket that its door rules would have refused (admitted at two
offline doors beyond its limit), found when the devices upload their scans; listed for the organiser and
announced to the tenant's plugins (`door_conflict_detected`) once per conflict.

Written only inside the upload's write transaction, after the ticket's count moved (its row lock serializes
uploads of one ticket, so two racing uploads make one conflict). Never changes a ticket or the scan log.
"""

from __future__ import annotations

from core.models import DoorConflict, Ticket, new_id, utcnow
from core.plugins import hooks_for
from core.services import door_rules
from core.tenancy import get_scoped, scoped
from core.timefmt import iso_utc


def note_conflict(org, ticket: Ticket, event_id: str, rule: str, scan_id: str) -> DoorConflict:
    """Record that the uploaded admission `scan_id` of `ticket` (its type loaded, as counted) broke `rule`: the
    ticket's open conflict takes the scan, or a new conflict is made and `door_conflict_detected` recorded in the
    outbox with it (once per conflict, whatever joins it later)."""
    now = utcnow()
    limit = door_rules.scan_limit(ticket.ticket_type)
    conflict = (scoped(DoorConflict, org).where((DoorConflict.ticket_id == ticket.id)
                                                & DoorConflict.resolved_at.is_null()).first())
    if conflict is not None:
        conflict.scan_ids = [*conflict.scan_ids, scan_id]
        conflict.scan_count = ticket.scan_count
        conflict.save()
        return conflict
    earlier = _earlier_admission_ids(org, ticket.id, scan_id)
    conflict = DoorConflict.create(id=new_id(), org=org.id, event_id=event_id, ticket_id=ticket.id, rule=rule,
                                   scan_ids=[*earlier, scan_id], scan_limit=limit, scan_count=ticket.scan_count,
                                   detected_at=now)
    hooks_for(org).notify("door_conflict_detected", org=org, conflict=conflict)
    return conflict


def _earlier_admission_ids(org, ticket_id: str, scan_id: str) -> list[str]:
    """The ids of the ticket's other admissions (uploaded scan ids, or the scan log row's id for an online one),
    oldest first: the admissions the conflicting one collided with."""
    from core.models import CheckIn

    rows = (scoped(CheckIn, org, CheckIn.id, CheckIn.scan_id)
            .where((CheckIn.ticket == ticket_id) & (CheckIn.result == "admitted")
                   & (CheckIn.scan_id.is_null() | (CheckIn.scan_id != scan_id)))
            .order_by(CheckIn.created_at, CheckIn.id).limit(100))
    return [row.scan_id or row.id for row in rows]


def conflict_view(conflict: DoorConflict) -> dict:
    """A conflict as the API shows it."""
    return {"id": conflict.id, "eventId": conflict.event_id, "ticketId": conflict.ticket_id, "rule": conflict.rule,
            "type": door_rules.RULES[conflict.rule].type if conflict.rule in door_rules.RULES else conflict.rule,
            "scanIds": list(conflict.scan_ids or []), "limit": conflict.scan_limit, "count": conflict.scan_count,
            "detectedAt": iso_utc(conflict.detected_at), "resolved": conflict.resolved_at is not None,
            "resolvedAt": iso_utc(conflict.resolved_at)}


def list_conflicts(org, event_id: str) -> list[DoorConflict]:
    """The event's door conflicts, newest first (404 `event_not_found`): what the organiser's dashboard shows."""
    from core.models import Event

    event = get_scoped(Event, org, event_id, "event")
    return list(scoped(DoorConflict, org).where(DoorConflict.event_id == event.id)
                .order_by(DoorConflict.detected_at.desc(), DoorConflict.id).limit(1000))

"""Door devices: the credential a signed-in door member's scanner gets for one event (and scan point), listed and
revoked by staff; the token itself is made by the view (`core.auth.device_token_for`).

Never admits a scan (check-in does, by `door_rules`) and never reads a request: the caller's identity is passed
in. A revocation holds at once on every process (`core.door_credentials.forget_device`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from core.db import write_transaction
from core.door_credentials import forget_device
from core.errors import ApiError, Conflict, NotFound
from core.identity import Identity
from core.models import DoorDevice, Event, TicketType, new_id, utcnow
from core.roles import MANAGERS
from core.services import audit
from core.tenancy import get_scoped, scoped
from core.timefmt import iso_utc

GRACE = dt.timedelta(hours=6)  # a device works this long after its event ends (late leavers, re-entry, uploads)


@dataclass(frozen=True)
class Registration:
    """A device just set up: its row, its event and the event's known scan points."""

    device: DoorDevice
    event: Event
    scan_points: list[str]


def device_expiry(event: Event) -> dt.datetime:
    """When a device of `event` stops working: the event's end (at least its start) plus `GRACE`."""
    return max(event.ends_at or event.starts_at, event.starts_at) + GRACE


def event_scan_points(org, event: Event) -> list[str]:
    """The scan points the event's ticket types (and, for a session, its parent's) name, sorted; a type that
    names none is accepted at every point."""
    owners = [event.id] + ([event.parent_event_id] if event.parent_event_id else [])
    points: set[str] = set()
    for row in scoped(TicketType, org, TicketType.accepted_scan_points).where(TicketType.event.in_(owners)):
        points.update(row.accepted_scan_points or [])
    return sorted(points)


def event_block(event: Event) -> dict:
    """The event as a door device sees it."""
    return {"id": event.id, "name": event.name, "startsAt": iso_utc(event.starts_at),
            "endsAt": iso_utc(event.ends_at), "timezone": event.tz, "parentEventId": event.parent_event_id}


def register_device(org, identity: Identity, event_id: str, *, scan_point: str | None, name: str) -> Registration:
    """Set up a door device for `event_id` by the signed-in member `identity`; 404 `event_not_found`, 409
    `event_over` when the event ended more than `GRACE` ago (a device would expire at once)."""
    event = get_scoped(Event, org, event_id, "event")
    expires = device_expiry(event)
    if expires <= utcnow():
        raise Conflict("This event is over; a door device can no longer be set up for it.", type="event_over",
                       endedAt=iso_utc(event.ends_at))
    with write_transaction():
        device = DoorDevice.create(id=new_id(), org=org.id, event_id=event.id, member_id=identity.member_id,
                                   name=name or "", scan_point=scan_point, expires_at=expires)
        audit.record(org, "door_device.created", "door_device", device.id,
                     after={"event_id": event.id, "scan_point": scan_point, "name": name or ""})
    return Registration(device, event, event_scan_points(org, event))


def list_devices(org, event_id: str) -> list[DoorDevice]:
    """The event's door devices, newest first (404 `event_not_found`)."""
    event = get_scoped(Event, org, event_id, "event")
    return list(scoped(DoorDevice, org).where(DoorDevice.event_id == event.id)
                .order_by(DoorDevice.created_at.desc(), DoorDevice.id).limit(1000))


def revoke_device(org, identity: Identity, event_id: str, device_id: str) -> DoorDevice:
    """Revoke a device of the event: its token is refused from the next request on every process. Managers
    revoke any device; other door staff the devices they set up; a device itself (signing out). 404
    `door_device_not_found`, 403 `not_your_device`; revoking a revoked device changes nothing."""
    device = get_scoped(DoorDevice, org, device_id, "door_device") if len(device_id) <= 36 else None
    if device is None or device.event_id != event_id:
        raise NotFound(f"No door device {device_id!r} for this event.", type="door_device_not_found")
    own = identity.device_id == device.id or (identity.member_id is not None and identity.member_id == device.member_id)
    if identity.role not in MANAGERS and not own:
        raise ApiError("Only managers revoke another member's door device.", status=403, type="not_your_device")
    if device.revoked_at is not None:
        return device
    now = utcnow()
    with write_transaction():
        changed = (DoorDevice.update(revoked_at=now, updated_at=now)
                   .where(device.row_condition() & DoorDevice.revoked_at.is_null()).execute())
        if changed:
            audit.record(org, "door_device.revoked", "door_device", device.id, before={"revoked_at": None},
                         after={"revoked_at": iso_utc(now)})
            forget_device(org.id, device.id)
    return device.reread()

"""Door devices and door conflicts: the credentials a scanner holds for one event, and offline admissions that
went beyond a ticket's limit.

Columns only; rows change through `core.services.door_devices` and `core.services.door_conflicts`. No foreign
keys, like the scan log (migration 4): rows go with their event (`checkin.forget_scans`).
"""

from __future__ import annotations

from peewee import CharField, IntegerField

from core.models.base import DateTimeField, JSONField
from core.models.tenant import TenantModel


class DoorDevice(TenantModel):
    """A door device's credential: issued to a signed-in member for one event (and an optional scan point),
    expiring after the event, revocable by staff. The token itself is a JWT naming this row; only the row's
    state (revoked, expired) is checked per request, from a per-process cache (`core.door_credentials`)."""

    event_id = CharField(max_length=36)
    member_id = CharField(max_length=36)
    name = CharField(max_length=100, default="")
    scan_point = CharField(max_length=100, null=True)
    expires_at = DateTimeField()
    revoked_at = DateTimeField(null=True)

    class Meta:
        table_name = "door_device"
        indexes = ((("org", "event_id"), False),)


class DoorConflict(TenantModel):
    """Offline admissions of one ticket that its door rules would have refused, found when the devices uploaded
    them (typically: admitted at two offline doors beyond its re-entry limit). One open conflict per ticket;
    later such admissions join it. `scan_ids` are the device scan ids (the scan log's `scan_id`) involved."""

    event_id = CharField(max_length=36)
    ticket_id = CharField(max_length=36)
    rule = CharField(max_length=32)  # the door rule the admissions broke (`already_used` beyond the limit)
    scan_ids = JSONField(default=list)
    scan_limit = IntegerField(null=True)  # the ticket's admissions allowed (None: no limit)
    scan_count = IntegerField()  # the ticket's admissions counted once the conflict's last scan was recorded
    detected_at = DateTimeField()
    resolved_at = DateTimeField(null=True)

    class Meta:
        table_name = "door_conflict"
        indexes = ((("org", "event_id", "detected_at"), False), (("org", "ticket_id"), False))

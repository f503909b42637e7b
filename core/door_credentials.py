"""A door device's live credential: whether the device row a token names is still valid (not revoked, not
expired), and whether the member who set the device up still holds a door role, read at most once per
`DEVICE_SECONDS` per device and process.

What makes a revocation hold at once on this process (and on the others through the invalidation bus), as
`core.member_grants` does for members. Never issues tokens or changes a row.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from core import invalidation
from core.errors import Unauthorized
from core.identity import Identity
from core.member_grants import member_grant
from core.memo import TimedMemo
from core.models.base import utcnow
from core.roles import DOOR_STAFF

DEVICE_SECONDS = 5.0  # how stale a worker's view of a device (revoked or not) may be while the bus is down

_DEVICES = TimedMemo(DEVICE_SECONDS)  # (org id, device id) -> DeviceGrant, or None when revoked or unknown


@dataclasses.dataclass(frozen=True)
class DeviceGrant:
    """What a live device may do: scan for `event_id`, set up by `member_id`, until `expires_at` (epoch s)."""

    event_id: str
    member_id: str
    expires_at: float


def device_grant(org_id: str, device_id: str) -> DeviceGrant | None:
    """The live grant of the door device `device_id` of `org_id`, or None when it was revoked or never existed.
    One query per device and process every DEVICE_SECONDS (at once in every process, through `forget_device`)."""
    from core.models import DoorDevice

    def load() -> DeviceGrant | None:
        row = (DoorDevice.select(DoorDevice.event_id, DoorDevice.member_id, DoorDevice.expires_at,
                                 DoorDevice.revoked_at)
               .where((DoorDevice.id == device_id) & (DoorDevice.org == org_id)).first())
        if row is None or row.revoked_at is not None:
            return None
        return DeviceGrant(row.event_id, row.member_id, row.expires_at.replace(tzinfo=dt.UTC).timestamp())

    return _DEVICES.get((org_id, device_id), load)


def device_token_identity(identity: Identity) -> Identity:
    """The caller of a door device's token, checked live: 401 `device_revoked` when staff revoked the device (or
    it is gone), 401 `membership_revoked` when the member who set it up no longer holds a door role in the
    tenant, 401 `session_revoked` when their sessions were ended after the device was set up, 401 `token_expired`
    after the device's expiry (the row's, on the deployment's clock; the JWT's own `exp` is the same moment)."""
    grant = device_grant(identity.org, identity.device_id or "") if len(identity.device_id or "") <= 36 else None
    if grant is None or grant.event_id != identity.event_id:
        raise Unauthorized("This door device was revoked; sign in again on the scanner.", type="device_revoked")
    if utcnow().replace(tzinfo=dt.UTC).timestamp() >= grant.expires_at:
        raise Unauthorized("This door device's credential expired with its event.", type="token_expired")
    member = member_grant(identity.org, grant.member_id)
    if member is None or member[0] not in DOOR_STAFF:
        raise Unauthorized("The member who set this door device up no longer holds a door role.",
                           type="membership_revoked")
    if identity.issued_at < member[1]:
        raise Unauthorized("The sessions of the member who set this door device up were ended; sign in again.",
                           type="session_revoked")
    return identity


def forget_device(org_id: str, device_id: str) -> None:
    """Drop the view of a device (after it was revoked): here once the change commits, on every other process
    through the invalidation bus."""
    invalidation.announce("door_device", invalidation.tenant_key(org_id, device_id))


invalidation.on_tenant_change("door_device", _DEVICES)

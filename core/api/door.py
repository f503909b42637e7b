"""Door devices and offline scanning: a door member's device credential for one event, the event's offline
bundle, uploads of the scans a device decided offline, and the door conflicts they revealed.

Thin views over `core.services.door_devices`, `door_bundle`, `door_scans` and `door_conflicts`: parse, one
service call, dump. A door device's token reaches only its own event (`core.auth.door_event`).
"""

from __future__ import annotations

from flask import make_response, request
from flask.views import MethodView
from marshmallow import ValidationError, fields, validate, validates_schema

from core.api.blueprint import Blueprint
from core.api.checkin import DoorRules, ScannerKeys, ScanTicket
from core.api.fields import UtcTime
from core.api_schema import Schema
from core.auth import current_identity, device_token_for, door_event, require_role
from core.roles import DOOR_STAFF, READERS, SCANNERS
from core.services import door_bundle, door_conflicts, door_devices, door_rules, door_scans
from core.tenancy import current_org

blp = Blueprint("door", __name__, description="Door devices, the offline bundle, scan uploads and door conflicts")

_point = {"validate": validate.Length(min=1, max=100), "allow_none": True, "load_default": None}


class DeviceRequest(Schema):
    scanPoint = fields.String(**_point, metadata={"description": "the door's scan point (null: none named)"})
    name = fields.String(load_default="", validate=validate.Length(max=100),
                         metadata={"description": "a label for the device (e.g. `North gate phone`)"})


class DoorEvent(Schema):
    id = fields.String()
    name = fields.String()
    startsAt = fields.String()
    endsAt = fields.String()
    timezone = fields.String()
    parentEventId = fields.String(allow_none=True, metadata={"description": "a session's parent event"})


class Device(Schema):
    deviceId = fields.String(attribute="id")
    eventId = fields.String(attribute="event_id")
    memberId = fields.String(attribute="member_id")
    name = fields.String()
    scanPoint = fields.String(attribute="scan_point", allow_none=True)
    createdAt = UtcTime(attribute="created_at")
    expiresAt = UtcTime(attribute="expires_at")
    revokedAt = UtcTime(attribute="revoked_at", allow_none=True)


class DeviceList(Schema):
    devices = fields.List(fields.Nested(Device))


class DeviceCredential(Schema):
    deviceId = fields.String()
    token = fields.String(metadata={"description": "the device's JWT: send it as `Authorization: Bearer <token>`"})
    tokenType = fields.String()
    expiresAt = fields.String()
    event = fields.Nested(DoorEvent)
    scanPoint = fields.String(allow_none=True)
    scanPoints = fields.List(fields.String(), metadata={"description": "the scan points the event's ticket types "
                                                                       "name"})


class BundleTicket(Schema):
    id = fields.String()
    eventId = fields.String()
    typeId = fields.String()
    typeName = fields.String()
    holderName = fields.String()
    status = fields.String()
    secretVersion = fields.Integer()
    scanCount = fields.Integer()
    poolCode = fields.String(allow_none=True, metadata={"description": "the barcode pool code the ticket took"})
    rotatingQr = fields.Boolean()
    acceptedScanPoints = fields.List(fields.String())
    allowReentry = fields.Boolean()
    reentryLimit = fields.Integer(allow_none=True)
    scanLimit = fields.Integer(allow_none=True, metadata={"description": "admissions allowed (null: no limit)"})
    admitsEverySession = fields.Boolean()
    lastScannedAt = fields.String(allow_none=True)
    lastScanPoint = fields.String(allow_none=True)
    session = fields.Dict(metadata={"description": "a session's bundle only, on its parent's tickets (passes): "
                                                   "`{attending, scanCount}` at this session"})


class Bundle(Schema):
    event = fields.Nested(DoorEvent)
    generatedAt = fields.String()
    etag = fields.String(metadata={"description": "also the `ETag` header; send it as `If-None-Match`"})
    rules = fields.Nested(DoorRules)
    keys = fields.Nested(ScannerKeys)
    doorSecret = fields.String(allow_none=True, metadata={"description": "base64 of the event's door secret "
                                                                        "(rotating codes), null when it has none"})
    doorSecrets = fields.Dict(keys=fields.String(), values=fields.String(allow_none=True), metadata={
        "description": "the door secret of each event whose tickets the bundle holds (a session's parent too): a "
                       "rotating code is checked with its ticket's event's secret"})
    tickets = fields.List(fields.Nested(BundleTicket))
    revoked = fields.List(fields.String(), metadata={"description": "ids of revoked tickets"})


_RESULT_REASONS = [*door_rules.RULES, "unknown_rule"]


class UploadedScan(Schema):
    scanId = fields.UUID(required=True, metadata={"description": "made by the device; a scan is recorded once"})
    code = fields.String(validate=validate.Length(min=1, max=1000), load_default=None, allow_none=True)
    ticketId = fields.String(validate=validate.Length(min=1, max=64), load_default=None, allow_none=True)
    scanPoint = fields.String(**_point)
    scannedAt = fields.AwareDateTime(required=True, metadata={"description": "the device's clock, ISO 8601 with "
                                                                             "its offset"})
    verdict = fields.String(required=True, validate=validate.OneOf(["admitted", "refused"]))
    reason = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(_RESULT_REASONS),
                           metadata={"description": "the rule a refused scan broke"})

    @validates_schema
    def one_way_to_name_the_ticket(self, data, **kwargs):
        if (data.get("code") is None) == (data.get("ticketId") is None):
            raise ValidationError("Send exactly one of `code` and `ticketId`.", "code")
        if data["verdict"] == "refused" and not data.get("reason"):
            raise ValidationError("A refused scan names the rule it broke.", "reason")
        if data["verdict"] == "admitted" and data.get("reason"):
            raise ValidationError("An admitted scan names no rule.", "reason")


class Upload(Schema):
    scans = fields.List(fields.Nested(UploadedScan), required=True,
                        validate=validate.Length(min=1, max=door_scans.MAX_SCANS))


class ScanError(Schema):
    type = fields.String()
    message = fields.String()
    reason = fields.String(allow_none=True)


class ScanAnswer(Schema):
    scanId = fields.String()
    result = fields.String(metadata={"description": "recorded | duplicate | conflict | rejected"})
    ticket = fields.Nested(ScanTicket, allow_none=True)
    conflictId = fields.String(metadata={"description": "`conflict` only"})
    rule = fields.String(metadata={"description": "`conflict` only: the door rule the admission broke"})
    error = fields.Nested(ScanError, metadata={"description": "`rejected` only: why nothing was recorded"})


class UploadAnswer(Schema):
    scans = fields.List(fields.Nested(ScanAnswer))


class Conflict(Schema):
    id = fields.String()
    eventId = fields.String()
    ticketId = fields.String()
    rule = fields.String()
    type = fields.String()
    scanIds = fields.List(fields.String())
    limit = fields.Integer(allow_none=True)
    count = fields.Integer()
    detectedAt = fields.String()
    resolved = fields.Boolean()
    resolvedAt = fields.String(allow_none=True)


class ConflictList(Schema):
    conflicts = fields.List(fields.Nested(Conflict))


@blp.route("/events/<event_id>/door-devices")
class DoorDevices(MethodView):
    @require_role(DOOR_STAFF, members_only=True)
    @blp.arguments(DeviceRequest())
    @blp.response(201, DeviceCredential)
    def post(self, data, event_id):
        """Set up this browser as a door device for the event: a token for the door routes of this event only,
        expiring after it. A signed-in member only (403 `member_sign_in_required` for an API key)."""
        identity = current_identity()
        made = door_devices.register_device(current_org(), identity, event_id, scan_point=data["scanPoint"],
                                            name=data["name"])
        device = made.device
        token = device_token_for(device.id, device.org_id, device.event_id, identity.email, device.expires_at)
        return {"deviceId": device.id, "token": token, "tokenType": "Bearer",
                "expiresAt": Device().dump(device)["expiresAt"], "event": door_devices.event_block(made.event),
                "scanPoint": device.scan_point, "scanPoints": made.scan_points}

    @require_role(READERS, DOOR_STAFF, scope="read")
    @blp.response(200, DeviceList)
    def get(self, event_id):
        """The event's door devices, newest first, revoked ones included."""
        return {"devices": door_devices.list_devices(current_org(), event_id)}


@blp.route("/events/<event_id>/door-devices/<device_id>")
class DoorDeviceView(MethodView):
    @require_role(DOOR_STAFF, SCANNERS, scope="checkin")
    @blp.response(200, Device)
    def delete(self, event_id, device_id):
        """Revoke a door device: its token is refused from the next request. Managers revoke any device, other
        door staff the ones they set up, a device itself (signing out)."""
        return door_devices.revoke_device(current_org(), current_identity(), door_event(event_id), device_id)


@blp.route("/events/<event_id>/door-bundle")
class DoorBundle(MethodView):
    @require_role(SCANNERS, scope="checkin")
    @blp.response(200, Bundle)
    @blp.alt_response(304, description="`If-None-Match` named the current `etag`: nothing changed")
    def get(self, event_id):
        """Everything a door device needs to decide scans offline for the event (the rule table, the public key,
        the door secret, the tickets with their counts, the revoked ones), with an `ETag`."""
        bundle = door_bundle.bundle(current_org(), door_event(event_id))
        etag = f'"{bundle["etag"]}"'
        if etag in request.if_none_match or bundle["etag"] in request.if_none_match:
            answer = make_response("", 304)
            answer.headers["ETag"] = etag
            return answer
        return bundle, 200, {"ETag": etag, "Cache-Control": "no-store"}


@blp.route("/events/<event_id>/door-scans")
class DoorScans(MethodView):
    @require_role(SCANNERS, scope="checkin")
    @blp.arguments(Upload())
    @blp.response(200, UploadAnswer)
    def post(self, data, event_id):
        """Upload scans a device decided offline: each recorded once by its `scanId`; an admission is counted on
        its ticket even beyond its limit, and one that broke a door rule is kept as a door conflict."""
        scans = [{**scan, "scanId": str(scan["scanId"])} for scan in data["scans"]]
        return {"scans": door_scans.upload(current_org(), current_identity(), door_event(event_id), scans)}


@blp.route("/events/<event_id>/door-conflicts")
class DoorConflicts(MethodView):
    @require_role(READERS, scope="read")
    @blp.response(200, ConflictList)
    def get(self, event_id):
        """The event's door conflicts (offline admissions beyond a ticket's limit), newest first."""
        return {"conflicts": [door_conflicts.conflict_view(c)
                              for c in door_conflicts.list_conflicts(current_org(), event_id)]}

"""Staff door endpoints: scanner keys, the door rules, validate a QR (no record), check in by QR or ticket id.

Thin views over `core.services.checkin`: parse, one service call, dump; they never change ticket state.
"""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import fields, validate

from core.api.blueprint import Blueprint
from core.api.fields import UtcTime
from core.api_schema import Schema
from core.auth import current_identity, door_event, require_role
from core.roles import DOOR_STAFF, OFFICER, SCANNERS
from core.services import checkin, door_rules, qr
from core.tenancy import current_org

blp = Blueprint("checkin", __name__, description="Door scanning: validate and check in tickets")

_text = {"validate": validate.Length(max=100), "allow_none": True, "load_default": None}


class ValidateSchema(Schema):
    qrPayload = fields.String(required=True, validate=validate.Length(min=1, max=1000))
    eventId = fields.String(**_text)
    scanPoint = fields.String(**_text)


class CheckInByQrSchema(ValidateSchema):
    pass


class CheckInByIdSchema(Schema):
    eventId = fields.String(**_text)
    scanPoint = fields.String(**_text)


class ScanTicket(Schema):
    id = fields.String()
    eventId = fields.String()
    holderName = fields.String()
    holderEmail = fields.String()
    ticketType = fields.Dict(metadata={"description": "`{id, name}`"})
    status = fields.String()
    scanCount = fields.Integer()
    attended = fields.Boolean()
    firstScannedAt = fields.String(allow_none=True)
    lastScannedAt = fields.String(allow_none=True)
    lastScanPoint = fields.String(allow_none=True)


class ValidationResult(Schema):
    valid = fields.Boolean()
    reason = fields.String(allow_none=True, metadata={
        "description": "null | unknown | forged | stale_code | wrong_event | live_code_required | revoked | "
                       "not_activated | already_used | scan_point_not_accepted | not_registered_for_session"})
    ticket = fields.Nested(ScanTicket, allow_none=True)
    acceptedScanPoints = fields.List(fields.String(), attribute="accepted_scan_points", allow_none=True, metadata={
        "description": "the scan points the ticket's type is accepted at ([]: every point; null when the code "
                       "names no ticket). Without `scanPoint` validate does not refuse for the point: it lists "
                       "them here (check-in does refuse)"})


class UndoCheckInSchema(Schema):
    reason = fields.String(load_default="", validate=validate.Length(max=500),
                           metadata={"description": "why the check-in is reversed; kept in the scan log"})


class CheckInRecord(Schema):
    id = fields.String()
    ticketId = fields.String(attribute="ticket_id")
    scanPoint = fields.String(attribute="scan_point", allow_none=True)
    result = fields.String(metadata={"description": "`admitted`, or `undone` for a reversed check-in"})
    at = UtcTime(attribute="created_at")


class UndoneRecord(CheckInRecord):
    by = fields.String(attribute="staff", allow_none=True,
                       metadata={"description": "who undid it: a staff token's `sub`, `key:<id>`, or the officer "
                                                "customer's account id"})
    note = fields.String(allow_none=True, metadata={"description": "the reason given"})


class CheckInResult(Schema):
    admitted = fields.Boolean()
    checkIn = fields.Nested(CheckInRecord, attribute="check_in")
    ticket = fields.Nested(ScanTicket, attribute="ticket_block",
                           metadata={"description": "The same ticket block as validate and refusals."})


class UndoResult(CheckInResult):
    checkIn = fields.Nested(UndoneRecord, attribute="check_in",
                            metadata={"description": "the scan log's `undone` entry (the check-in answer's "
                                                     "record, with who and why)"})


class DoorRule(Schema):
    name = fields.String(metadata={"description": "the refusal `reason`"})
    status = fields.Integer()
    type = fields.String()
    message = fields.String()
    params = fields.Dict()


class DoorRules(Schema):
    admittableStatuses = fields.List(fields.String())
    code = fields.List(fields.Nested(DoorRule), metadata={"description": "what the scanned code must be"})
    ticket = fields.List(fields.Nested(DoorRule), metadata={"description": "in order: the first broken is the reason"})
    session = fields.Nested(DoorRule, metadata={"description": "a pass scanned at one of its event's sessions"})


class ScannerKeys(Schema):
    org = fields.String()
    algorithm = fields.String()
    publicKey = fields.Dict(metadata={"description": "`{raw: base64 of the 32-byte key, pem: SPKI PEM}`"})
    payloadPrefix = fields.String()
    payloadFormat = fields.String()


@blp.route("/events/scanner/keys")
class ScannerKeysView(MethodView):
    @require_role(SCANNERS, OFFICER, scope="checkin")
    @blp.response(200, ScannerKeys)
    def get(self):
        """The tenant's Ed25519 public key and QR payload format, for offline door devices."""
        return qr.public_key_info(current_org())


@blp.route("/events/scanner/rules")
class ScannerRulesView(MethodView):
    @require_role(SCANNERS, OFFICER, scope="checkin")
    @blp.response(200, DoorRules)
    def get(self):
        """The door's admission rules as data, the table the server admits by, for offline door devices."""
        return door_rules.as_json()


@blp.route("/events/tickets/validate")
class Validate(MethodView):
    @require_role(SCANNERS, OFFICER, scope="checkin")
    @blp.arguments(ValidateSchema())
    @blp.response(200, ValidationResult)
    def post(self, data):
        """Would this QR be admitted now? `{valid, reason, ticket, acceptedScanPoints}`; records nothing."""
        return checkin.validate(current_org(), data["qrPayload"], event_id=door_event(data["eventId"]),
                                scan_point=data["scanPoint"])


@blp.route("/events/check-in")
class CheckInByQr(MethodView):
    @require_role(SCANNERS, OFFICER, scope="checkin")
    @blp.arguments(CheckInByQrSchema())
    @blp.response(200, CheckInResult)
    def post(self, data):
        """Admit the ticket a scanned QR names (409 `already_checked_in` with when and where; a rotating QR's
        code older than 60 s is 409 `qr_expired`, its static code 409 `live_code_required`)."""
        return checkin.check_in_payload(current_org(), data["qrPayload"], event_id=door_event(data["eventId"]),
                                        scan_point=data["scanPoint"], staff=current_identity().sub)


@blp.route("/events/check-in/<ticket_id>")
class CheckInById(MethodView):
    @require_role(SCANNERS, OFFICER, scope="checkin")
    @blp.arguments(CheckInByIdSchema())
    @blp.response(200, CheckInResult)
    def post(self, data, ticket_id):
        """Admit a ticket looked up by id (manual entry at the door)."""
        return checkin.check_in_ticket(current_org(), ticket_id, event_id=door_event(data["eventId"]),
                                       scan_point=data["scanPoint"], staff=current_identity().sub)


@blp.route("/events/check-in/<ticket_id>/undo")
class UndoCheckIn(MethodView):
    @require_role(DOOR_STAFF, OFFICER, scope="checkin")
    @blp.arguments(UndoCheckInSchema())
    @blp.response(200, UndoResult)
    def post(self, data, ticket_id):
        """Reverse a mistaken check-in (attendance back to false): the ticket is valid again with no scans and
        the scan log keeps an `undone` entry with who did it and `reason`. 409 `not_checked_in`."""
        return checkin.undo_check_in(current_org(), current_identity(), ticket_id, data["reason"])

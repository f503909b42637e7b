"""Staff door endpoints: scanner keys, validate a QR (no record), check in by QR payload or ticket id.

Thin views over `core.services.checkin`; they never change ticket state themselves. Check-in and validate
are also served by the fast lane (`core.api.fastlane`), from the same declarations (`LANE_ROUTES`).
"""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import Schema, fields, validate

from core.api.blueprint import Blueprint
from core.api.fastlane import LaneRoute
from core.auth import Identity, require_role
from core.plugins import hooks_for
from core.services import checkin, qr
from core.tenancy import current_org
from core.timefmt import iso_utc

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
        "description": "null | unknown | forged | wrong_event | revoked | not_activated | already_used | "
                       "scan_point_not_accepted | not_registered_for_session"})
    ticket = fields.Nested(ScanTicket, allow_none=True)


class CheckInRecord(Schema):
    id = fields.String()
    ticketId = fields.String()
    scanPoint = fields.String(allow_none=True)
    result = fields.String()
    at = fields.String()


class CheckInResult(Schema):
    admitted = fields.Boolean()
    checkIn = fields.Nested(CheckInRecord)
    ticket = fields.Nested(ScanTicket, metadata={"description": "The same ticket block as validate and refusals."})


class ScannerKeys(Schema):
    org = fields.String()
    algorithm = fields.String()
    publicKey = fields.Dict(metadata={"description": "`{raw: base64 of the 32-byte key, pem: SPKI PEM}`"})
    payloadPrefix = fields.String()
    payloadFormat = fields.String()


def admitted_answer(org, ticket, record) -> dict:
    """The check-in answer, built directly (hot path: no schema dump; CheckInResult documents it), after
    announcing the admission (`ticket_checked_in`). Every scan answer (validate, admitted, refused)
    describes the ticket with `checkin.ticket_summary`."""
    hooks_for(org).notify("ticket_checked_in", org=org, ticket=ticket, checkin=record)
    return {
        "admitted": True,
        "checkIn": {"id": record.id, "ticketId": ticket.id, "scanPoint": record.scan_point,
                    "result": record.result, "at": iso_utc(record.created_at)},
        "ticket": checkin.ticket_summary(ticket),
    }


def check_in_by_qr(org, identity: Identity, data: dict) -> dict:
    """Admit the ticket a scanned QR names; refusals raise (409 `already_checked_in` with when and where)."""
    ticket, record = checkin.check_in_payload(org, data["qrPayload"], event_id=data["eventId"],
                                              scan_point=data["scanPoint"], staff=identity.sub)
    return admitted_answer(org, ticket, record)


def check_in_by_id(org, identity: Identity, data: dict, ticket_id: str) -> dict:
    """Admit a ticket looked up by id (manual entry at the door)."""
    ticket, record = checkin.check_in_ticket(org, ticket_id, event_id=data["eventId"], scan_point=data["scanPoint"],
                                             staff=identity.sub)
    return admitted_answer(org, ticket, record)


def validate_qr(org, identity: Identity, data: dict) -> dict:
    """Would this QR be admitted now? `{valid, reason, ticket}`; records nothing."""
    return checkin.validate(org, data["qrPayload"], event_id=data["eventId"], scan_point=data["scanPoint"])


# The door endpoints, declared once: the Flask views below and the fast lane (`core.api.fastlane`) take
# their rule, body schema, roles and answer from here, so both serve them identically.
VALIDATE = LaneRoute("/events/tickets/validate", "checkin.Validate", ValidateSchema(), ("staff",), validate_qr)
SCAN_QR = LaneRoute("/events/check-in", "checkin.CheckInByQr", CheckInByQrSchema(), ("staff",), check_in_by_qr)
SCAN_ID = LaneRoute("/events/check-in/<ticket_id>", "checkin.CheckInById", CheckInByIdSchema(), ("staff",),
                    check_in_by_id)
LANE_ROUTES = (VALIDATE, SCAN_QR, SCAN_ID)


@blp.route("/events/scanner/keys")
class ScannerKeysView(MethodView):
    @require_role("staff")
    @blp.response(200, ScannerKeys)
    def get(self):
        """The tenant's Ed25519 public key and QR payload format, for offline door devices."""
        return qr.public_key_info(current_org())


@blp.route(VALIDATE.rule)
class Validate(MethodView):
    @require_role(*VALIDATE.roles)
    @blp.arguments(VALIDATE.schema)
    @blp.response(200, ValidationResult)
    def post(self, data):
        """Would this QR be admitted now? `{valid, reason, ticket}`; records nothing."""
        return VALIDATE.flask_response(data)


@blp.route(SCAN_QR.rule)
class CheckInByQr(MethodView):
    @require_role(*SCAN_QR.roles)
    @blp.arguments(SCAN_QR.schema)
    @blp.response(200, CheckInResult)
    def post(self, data):
        """Admit the ticket a scanned QR names (409 `already_checked_in` with when and where)."""
        return SCAN_QR.flask_response(data)


@blp.route(SCAN_ID.rule)
class CheckInById(MethodView):
    @require_role(*SCAN_ID.roles)
    @blp.arguments(SCAN_ID.schema)
    @blp.response(200, CheckInResult)
    def post(self, data, ticket_id):
        """Admit a ticket looked up by id (manual entry at the door)."""
        return SCAN_ID.flask_response(data, ticket_id=ticket_id)

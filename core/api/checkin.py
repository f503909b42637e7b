"""Staff door endpoints: scanner keys, validate a QR (no record), check in by QR payload or ticket id.

Thin views over `core.services.checkin`; they never change ticket state themselves.
"""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from core.api.blueprint import Blueprint
from core.auth import current_identity, require_role
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


def _admitted(ticket, record):
    """The check-in answer, serialised directly (hot path: no schema dump; CheckInResult documents it).
    Every scan answer (validate, admitted, refused) describes the ticket with `checkin.ticket_summary`."""
    org = current_org()
    hooks_for(org).notify("ticket_checked_in", org=org, ticket=ticket, checkin=record)
    return current_app.json.response({
        "admitted": True,
        "checkIn": {"id": record.id, "ticketId": ticket.id, "scanPoint": record.scan_point,
                    "result": record.result, "at": iso_utc(record.created_at)},
        "ticket": checkin.ticket_summary(ticket),
    })


def _staff_sub() -> str | None:
    identity = current_identity()
    return identity.sub if identity else None


@blp.route("/events/scanner/keys")
class ScannerKeysView(MethodView):
    @require_role("staff")
    @blp.response(200, ScannerKeys)
    def get(self):
        """The tenant's Ed25519 public key and QR payload format, for offline door devices."""
        return qr.public_key_info(current_org())


@blp.route("/events/tickets/validate")
class Validate(MethodView):
    @require_role("staff")
    @blp.arguments(ValidateSchema())
    @blp.response(200, ValidationResult)
    def post(self, data):
        """Would this QR be admitted now? `{valid, reason, ticket}`; records nothing."""
        return checkin.validate(current_org(), data["qrPayload"], event_id=data["eventId"],
                                scan_point=data["scanPoint"])


@blp.route("/events/check-in")
class CheckInByQr(MethodView):
    @require_role("staff")
    @blp.arguments(CheckInByQrSchema())
    @blp.response(200, CheckInResult)
    def post(self, data):
        """Admit the ticket a scanned QR names (409 `already_checked_in` with when and where)."""
        ticket, record = checkin.check_in_payload(current_org(), data["qrPayload"], event_id=data["eventId"],
                                                  scan_point=data["scanPoint"], staff=_staff_sub())
        return _admitted(ticket, record)


@blp.route("/events/check-in/<ticket_id>")
class CheckInById(MethodView):
    @require_role("staff")
    @blp.arguments(CheckInByIdSchema())
    @blp.response(200, CheckInResult)
    def post(self, data, ticket_id):
        """Admit a ticket looked up by id (manual entry at the door)."""
        ticket, record = checkin.check_in_ticket(current_org(), ticket_id, event_id=data["eventId"],
                                                 scan_point=data["scanPoint"], staff=_staff_sub())
        return _admitted(ticket, record)

"""Staff door endpoints: scanner keys, validate a QR (no record), check in by QR payload or ticket id.

Thin views over `core.services.checkin`; they never change ticket state themselves.
"""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from core.api.ticket_schema import ticket_view
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


def _admitted(ticket, record) -> dict:
    org = current_org()
    hooks_for(org).notify("ticket_checked_in", org=org, ticket=ticket, checkin=record)
    return {
        "admitted": True,
        "checkIn": {"id": record.id, "ticketId": ticket.id, "scanPoint": record.scan_point,
                    "result": record.result, "at": iso_utc(record.created_at)},
        "ticket": ticket_view(ticket, staff=True),
    }


def _staff_sub() -> str | None:
    identity = current_identity()
    return identity.sub if identity else None


@blp.route("/events/scanner/keys")
class ScannerKeys(MethodView):
    @require_role("staff")
    @blp.response(200)
    def get(self):
        """The tenant's Ed25519 public key and QR payload format, for offline door devices."""
        return qr.public_key_info(current_org())


@blp.route("/events/tickets/validate")
class Validate(MethodView):
    @require_role("staff")
    @blp.arguments(ValidateSchema)
    @blp.response(200)
    def post(self, data):
        """Would this QR be admitted now? `{valid, reason, ticket}`; records nothing."""
        return checkin.validate(current_org(), data["qrPayload"], event_id=data["eventId"],
                                scan_point=data["scanPoint"])


@blp.route("/events/check-in")
class CheckInByQr(MethodView):
    @require_role("staff")
    @blp.arguments(CheckInByQrSchema)
    @blp.response(200)
    def post(self, data):
        """Admit the ticket a scanned QR names (409 `already_checked_in` with when and where)."""
        ticket, record = checkin.check_in_payload(current_org(), data["qrPayload"], event_id=data["eventId"],
                                                  scan_point=data["scanPoint"], staff=_staff_sub())
        return _admitted(ticket, record)


@blp.route("/events/check-in/<ticket_id>")
class CheckInById(MethodView):
    @require_role("staff")
    @blp.arguments(CheckInByIdSchema)
    @blp.response(200)
    def post(self, data, ticket_id):
        """Admit a ticket looked up by id (manual entry at the door)."""
        ticket, record = checkin.check_in_ticket(current_org(), ticket_id, event_id=data["eventId"],
                                                 scan_point=data["scanPoint"], staff=_staff_sub())
        return _admitted(ticket, record)

"""HTTP routes of the developers_api plugin: 002's five operations under `/developers/v1.0`.

Thin views: parse 002's query or body, call the core's services and public views (`core.api.events` for the
event fields, `core.services.partner_sales` for issuing, `core.services.ticket_pdf` for the PDF links) and
reshape their answer into 002's names. Every answer carries `success`; an error is the core's envelope
(`code`, `status`, `type`, `message`) plus `success: false`, for these routes only.
"""

from __future__ import annotations

from flask import Response
from flask.views import MethodView
from marshmallow import ValidationError, fields, validate, validates_schema

from core.api.blueprint import plugin_blueprint
from core.api.event_schemas import CoverView, Paginate
from core.api.events import event_body, event_list_body
from core.api.idempotency import idempotent
from core.api.staff_tickets import ParticipantSchema
from core.api_schema import Schema
from core.auth import current_identity, require_role
from core.models import Attendee, Event, Org, utcnow
from core.pagination import PageNumberQuery, paginate_block
from core.roles import MANAGERS, READERS
from core.services import events, holds, ticket_types
from core.services.attendees import Contact, attendees_page, participant_view
from core.services.booking import BookingResult, sellable_now
from core.services.capacity import available_seats
from core.services.partner_sales import partner_sale
from core.services.ticket_pdf import tickets_pdf_link
from core.tenancy import current_org

blp = plugin_blueprint("developers_api", "developers_api", __name__,
                       description="002 partner Developers V1.0 API (developers_api plugin)")

# The core's event fields 002's event is made of (`core.api.event_schemas`), in 002's order.
EVENT_FIELDS = ("id", "name", "slug", "path", "start", "end", "location", "publish", "cover", "site_url",
                "checkout_url")
MAX_QUANTITY = 100
MAX_TIERS = 50
_ID = validate.Length(min=1, max=64)


@blp.after_request
def _errors_with_success_flag(response: Response) -> Response:
    """002's error bodies: the core's JSON error envelope with `success: false` (every error of these routes:
    validation, auth, plugin not enabled, a service's refusal)."""
    if response.status_code >= 400 and response.is_json:
        body = response.get_json(silent=True)
        if isinstance(body, dict) and "type" in body and "success" not in body:
            response.set_data(Response.json_module.dumps({"success": False, **body}))
    return response


def iso_millis(utc: str | None) -> str | None:
    """002's timestamp: ISO 8601 UTC with milliseconds (`2024-06-15T20:00:00.000Z`) from the core's `...Z`."""
    return None if utc is None else utc.removesuffix("Z") + ".000Z"


def event_002(view: dict) -> dict:
    """002's event from the core's event view (`EVENT_FIELDS`)."""
    return {"id": view["id"], "name": view["name"], "slug": view["slug"], "path": view["path"],
            "dateStart": iso_millis((view["start"] or {}).get("utc")),
            "dateEnd": iso_millis((view["end"] or {}).get("utc")), "location": view["location"],
            "publish": view["publish"], "cover": view["cover"], "checkoutUrl": view["checkout_url"],
            "siteUrl": view["site_url"]}


def participant_002(row: Attendee) -> dict:
    """002's participant: the attendees service's view, `created` with milliseconds."""
    view = participant_view(row)
    return {**view, "created": iso_millis(view["created"])}


def tiers_002(org: Org, event: Event) -> list[dict]:
    """002's tickets of an event: its public, unarchived ticket types with `available` (a purchase would be
    accepted now and seats are left) and `quantity` (seats left; null when unlimited), overdue holds released
    first so they are not counted."""
    holds.release_overdue_of_events(org.id, [event.id])
    now = utcnow()
    shown = []
    for tier in ticket_types.list_ticket_types(org, event, public_only=True):
        left = available_seats(tier, tier.event)
        shown.append({"id": tier.id, "name": tier.name, "quantity": left,
                      "available": sellable_now(tier.event, tier, now) and (left is None or left > 0)})
    return shown


# --- schemas ---------------------------------------------------------------------------------------------


class EventQuery(PageNumberQuery):
    """002's `page` (1-based) and `limit` (default 20)."""


class EventQueryById(Schema):
    """002's `eventId` of a list."""

    eventId = fields.String(required=True, validate=_ID, metadata={"description": "The event's id."})


class EventPageQuery(PageNumberQuery, EventQueryById):
    """002's `eventId`, `page` and `limit`."""


class Event002(Schema):
    """002's event."""

    id = fields.String()
    name = fields.String()
    slug = fields.String()
    path = fields.String(metadata={"description": "\"/\" plus the slug."})
    dateStart = fields.String(allow_none=True, metadata={"description": "UTC, with milliseconds."})
    dateEnd = fields.String(allow_none=True)
    location = fields.String()
    publish = fields.Boolean()
    cover = fields.Nested(CoverView, allow_none=True, metadata={"description": "null until a cover is uploaded "
                                                                               "and its renditions are made."})
    checkoutUrl = fields.String()
    siteUrl = fields.String()


class Tier002(Schema):
    """002's ticket tier (the core's ticket type)."""

    id = fields.String()
    name = fields.String()
    available = fields.Boolean(metadata={"description": "On sale now and seats left."})
    quantity = fields.Integer(allow_none=True, metadata={"description": "Seats left; null when unlimited."})


class EventPage002(Schema):
    """002's list of events: a page and its `paginate`."""

    success = fields.Boolean()
    events = fields.List(fields.Nested(Event002))
    paginate = fields.Nested(Paginate)


class EventWithTiers002(Schema):
    """002's single event with its ticket tiers."""

    success = fields.Boolean()
    event = fields.Nested(Event002)
    tickets = fields.List(fields.Nested(Tier002))


class Tiers002(Schema):
    """002's ticket tiers of an event."""

    success = fields.Boolean()
    tickets = fields.List(fields.Nested(Tier002))


class TicketItem(Schema):
    """One tier to issue: its id and how many."""

    ticket_id = fields.String(required=True, validate=_ID, metadata={"description": "A ticket tier of the event."})
    quantity = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=MAX_QUANTITY))


class ParticipantInput(Schema):
    """Who the tickets are for: an existing participant (`participantId`) or a new one (found again by e-mail)."""

    participantId = fields.String(validate=_ID)
    first_name = fields.String(validate=validate.Length(max=100))
    last_name = fields.String(validate=validate.Length(max=100))
    email = fields.Email(validate=validate.Length(max=254))
    phone = fields.String(validate=validate.Length(max=40))

    @validates_schema
    def _one_way(self, data: dict, **kwargs) -> None:
        details = {"first_name", "last_name", "email", "phone"} & set(data)
        if "participantId" in data and details:
            raise ValidationError("Send `participantId` alone, or a new participant's details.",
                                  field_name="participantId")
        if "participantId" not in data and "email" not in data:
            raise ValidationError("A new participant needs an e-mail (or send `participantId`).", field_name="email")


class CreateTickets(Schema):
    """002's create-tickets body."""

    eventId = fields.String(required=True, validate=_ID)
    tickets = fields.List(fields.Nested(TicketItem), required=True, validate=validate.Length(min=1, max=MAX_TIERS))
    participant = fields.Nested(ParticipantInput, metadata={"description": "Omit for anonymous tickets."})


class Participants002(Schema):
    """002's page of participants (the attendees service's view)."""

    success = fields.Boolean()
    participants = fields.List(fields.Nested(ParticipantSchema))
    paginate = fields.Nested(Paginate)


class IssuedTier(Schema):
    """One tier of a partner sale: its name, the PDF link of its tickets and how many."""

    name = fields.String()
    url = fields.String(metadata={"description": "A signed link to one PDF of these tickets (a page each, with its "
                                                 "QR); it expires after 30 days."})
    quantity = fields.Integer()


class Created002(Schema):
    """002's create-tickets answer."""

    success = fields.Boolean()
    participant = fields.Nested(ParticipantSchema, allow_none=True)
    tickets = fields.List(fields.Nested(IssuedTier))


# --- routes ---------------------------------------------------------------------------------------------


@blp.route("/events")
class Events(MethodView):
    @require_role(READERS, scope="read")
    @blp.arguments(EventQuery, location="query")
    @blp.response(200, EventPage002)
    def get(self, args):
        """List events (002): `page` (from 1) and `limit` (default 20); `paginate.nextPage` is null on the last
        page."""
        body = event_list_body(current_org(), {"page": args["page"], "limit": args["limit"]}, EVENT_FIELDS)
        return {"success": True, "events": [event_002(view) for view in body["data"]], "paginate": body["paginate"]}


@blp.route("/event/<event_id>")
class OneEvent(MethodView):
    @require_role(READERS, scope="read")
    @blp.response(200, EventWithTiers002)
    @blp.error_responses({404: "`event_not_found`"})
    def get(self, event_id):
        """One event (002) with its ticket tiers (`available`, `quantity`)."""
        org = current_org()
        event = events.get_event(org, event_id)
        tiers = tiers_002(org, event)
        return {"success": True, "event": event_002(event_body(org, event, None, EVENT_FIELDS)), "tickets": tiers}


@blp.route("/tickets")
class Tickets(MethodView):
    @require_role(READERS, scope="read")
    @blp.arguments(EventQueryById, location="query")
    @blp.response(200, Tiers002)
    @blp.error_responses({404: "`event_not_found`"})
    def get(self, args):
        """An event's ticket tiers (002): public, unarchived ones, with `available` and `quantity`."""
        org = current_org()
        return {"success": True, "tickets": tiers_002(org, events.get_event(org, args["eventId"]))}


def _contact(participant: dict | None) -> Contact | None:
    """A new participant's details as the attendees service takes them (None: no details sent)."""
    if not participant or "participantId" in participant:
        return None
    return Contact(email=participant["email"], first_name=participant.get("first_name", "").strip(),
                   last_name=participant.get("last_name", "").strip(), phone=participant.get("phone") or None)


def _issued(org: Org, result: BookingResult) -> list[dict]:
    """002's `tickets`: per tier of the booking, its name, the signed link to one PDF of its tickets and how many."""
    return [{"name": line.description, "url": tickets_pdf_link(org, result.booking.id, line.ticket_type_id),
             "quantity": line.quantity} for line in result.lines if line.kind == "ticket"]


@blp.route("/tickets/create")
class CreateTicketsView(MethodView):
    @require_role(MANAGERS, scope="orders")
    @idempotent
    @blp.arguments(CreateTickets)
    @blp.response(200, Created002)
    @blp.error_responses({404: "`event_not_found`, `ticket_type_not_found`",
                          409: "`sold_out`", 422: "`sale_not_started`, `sale_ended`, `below_order_min`, "
                                                  "`above_order_max`, `event_ended`, `validation_error`"})
    def post(self, data):
        """Create tickets (002) of one or more tiers for a participant, a new one, or nobody (anonymous): a
        partner sale, paid to the partner. Capacity, sale window and order limits apply as to any purchase.
        Each tier answers a signed link to one PDF of its tickets. Honours `Idempotency-Key`."""
        org = current_org()
        items = [(item["ticket_id"], item["quantity"]) for item in data["tickets"]]
        participant = data.get("participant")
        identity = current_identity()
        sale = partner_sale(org, data["eventId"], items, by=identity.email or identity.sub,
                            attendee_id=(participant or {}).get("participantId"), contact=_contact(participant))
        return {"success": True, "participant": participant_002(sale.attendee) if sale.attendee else None,
                "tickets": _issued(org, sale.result)}


@blp.route("/participants")
class Participants(MethodView):
    @require_role(READERS, scope="read")
    @blp.arguments(EventPageQuery, location="query")
    @blp.response(200, Participants002)
    @blp.error_responses({404: "`event_not_found`"})
    def get(self, args):
        """An event's participants (002): the attendees holding its valid or checked-in tickets, oldest first;
        `page` (from 1) and `limit` (default 20). `id` is what `tickets/create` takes as `participantId`."""
        page = attendees_page(current_org(), event_id=args["eventId"], page=args["page"], limit=args["limit"])
        return {"success": True, "participants": [participant_002(row) for row in page.rows],
                "paginate": paginate_block(page)}

"""HTTP routes of the waiting list: a customer joins, sees and leaves the line of an event's sold-out ticket type;
staff read an event's lines (JSON or CSV).

Views only parse, call one service function and dump; 404 `plugin_not_enabled` for tenants without `resale`.
"""

from __future__ import annotations

from flask import request
from flask.views import MethodView
from marshmallow import fields, validate

from core.api.blueprint import plugin_blueprint
from core.api.csv_answer import CSV_TYPE, csv_answer
from core.api_schema import Schema
from core.auth import current_identity, require_role
from core.roles import CUSTOMER, READERS
from core.tenancy import current_org
from plugins.resale import waitlist, waitlist_views

blp = plugin_blueprint("resale", "resale_waitlist", __name__,
                       description="Waiting list: customers queue for sold-out ticket types; staff see the lines")

CSV_DOC = {"schema": {"type": "string", "description": "One row per entry: " + ", ".join(waitlist_views.CSV_COLUMNS)}}


class JoinInput(Schema):
    ticketTypeId = fields.String(required=True, validate=validate.Length(min=1, max=64))
    seats = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100),
                           metadata={"description": "Seats wanted, 1 to the tenant's `waitlist_max_seats` "
                                                    "(default 10)"})
    buyForMe = fields.Boolean(load_default=False,
                              metadata={"description": "Consent to be charged with a saved card as soon as seats "
                                                       "are offered; the answer's `setup` saves the card"})


class SetupView(Schema):
    gateway = fields.String(metadata={"description": "The gateway that saves the method (e.g. `stripe`)"})
    setupIntent = fields.String(metadata={"description": "The provider's reference of the saving"})
    clientSecret = fields.String(metadata={"description": "What the provider's widget needs to save the card "
                                                         "(Stripe.js `confirmSetup`)"})


class LeaveQuery(Schema):
    ticketTypeId = fields.String(validate=validate.Length(min=1, max=64),
                                 metadata={"description": "Leave only this ticket type's line (default: all of "
                                                          "the event's)"})


class OfferView(Schema):
    id = fields.String()
    status = fields.String(metadata={"description": "offered, accepted, lapsed or withdrawn"})
    seats = fields.Integer()
    expiresAt = fields.String(allow_none=True)
    bookingId = fields.String(allow_none=True, metadata={"description": "The pending booking holding the seats"})
    listingId = fields.String(allow_none=True, metadata={"description": "The resale listing reserved instead"})
    createdAt = fields.String(allow_none=True)
    settledAt = fields.String(allow_none=True)
    checkoutUrl = fields.String(allow_none=True, metadata={"description": "Where to pay an open offer"})
    boughtForCustomer = fields.Boolean(metadata={"description": "Paid with the saved card (buy for me)"})
    chargeFailure = fields.String(allow_none=True, metadata={"description": "Why buying with the saved card "
                                                                            "failed (e.g. `card_declined`)"})


class EntryView(Schema):
    id = fields.String()
    eventId = fields.String()
    ticketTypeId = fields.String()
    seats = fields.Integer()
    status = fields.String(metadata={"description": "waiting, offered, accepted, lapsed or left"})
    position = fields.Integer(allow_none=True, metadata={"description": "1 = first in line; null once out of it"})
    joinedAt = fields.String()
    buyForMe = fields.Boolean(metadata={"description": "Seats offered are bought with the saved card"})
    offer = fields.Nested(OfferView, allow_none=True)


class EntryResult(Schema):
    entry = fields.Nested(EntryView)
    setup = fields.Nested(SetupView, allow_none=True,
                          metadata={"description": "With `buyForMe`: complete it to save the card"})


class EntryList(Schema):
    entries = fields.List(fields.Nested(EntryView))


class DemandView(Schema):
    ticketTypeId = fields.String()
    ticketTypeName = fields.String()
    entries = fields.Integer(metadata={"description": "Customers in line (waiting or with an open offer)"})
    seatsWanted = fields.Integer()
    offered = fields.Integer(metadata={"description": "Of them, with an open offer"})


class LineEntryView(EntryView):
    customerId = fields.String()
    email = fields.String()
    name = fields.String()
    ticketTypeName = fields.String()


class StaffOfferView(OfferView):
    entryId = fields.String()
    customerId = fields.String()
    ticketTypeId = fields.String()


class EventLineView(Schema):
    eventId = fields.String()
    demand = fields.List(fields.Nested(DemandView))
    line = fields.List(fields.Nested(LineEntryView))
    offers = fields.List(fields.Nested(StaffOfferView))


def _entries(entries) -> dict:
    org = current_org()
    return {"entries": [waitlist_views.entry_view(org, entry) for entry in entries]}


@blp.route("/client/events/<event_id>/waitlist")
class MyWaitlist(MethodView):
    @require_role(CUSTOMER)
    @blp.arguments(JoinInput)
    @blp.response(201, EntryResult)
    def post(self, body, event_id):
        """Join the waiting list of a sold-out ticket type of this event (409 `not_sold_out` while it is on
        sale). Joining again while waiting changes the seats and keeps the place in line."""
        org = current_org()
        entry, setup = waitlist.join(org, current_identity().sub, event_id, body["ticketTypeId"], body["seats"],
                                     body["buyForMe"])
        waitlist.attach_offers(org.id, [entry])
        return {"entry": waitlist_views.entry_view(org, entry),
                "setup": None if setup is None else {"gateway": setup.gateway, "setupIntent": setup.reference,
                                                     "clientSecret": setup.client_secret}}

    @require_role(CUSTOMER)
    @blp.response(200, EntryList)
    def get(self, event_id):
        """My entries on this event's waiting lists, with my place in line and any offer (and where to pay it);
        404 `event_not_found` for an event this tenant does not have."""
        return _entries(waitlist.customer_entries(current_org(), current_identity().sub, event_id))

    @require_role(CUSTOMER)
    @blp.arguments(LeaveQuery, location="query")
    @blp.response(200, EntryList)
    def delete(self, args, event_id):
        """Leave this event's waiting lists (or one ticket type's); an open offer is given up and its seats go
        to the next in line."""
        org = current_org()
        left = waitlist.leave(org, current_identity().sub, event_id, args.get("ticketTypeId"))
        waitlist.attach_offers(org.id, left)
        return _entries(left)


@blp.route("/client/waitlist")
class AllMyWaitlists(MethodView):
    @require_role(CUSTOMER)
    @blp.response(200, EntryList)
    def get(self):
        """All my waiting-list entries, newest first, with their offers."""
        return _entries(waitlist.customer_entries(current_org(), current_identity().sub))


def _csv(event_id: str):
    return csv_answer(waitlist_views.event_line_csv(current_org(), event_id), "waitlist.csv")


@blp.route("/events/<event_id>/waitlist")
class EventWaitlist(MethodView):
    @require_role(READERS, scope="read")
    @blp.response(200, EventLineView)
    @blp.doc(responses={"200": {"description": "The event's waiting lists (or, with `Accept: text/csv`, the line "
                                               "as CSV)",
                                "content": {"application/json": {"schema": EventLineView}, CSV_TYPE: CSV_DOC}}})
    def get(self, event_id):
        """The event's waiting lists: demand per ticket type, the line in order with positions, and every offer
        with its state. With `Accept: text/csv`, the line as CSV (like `/events/{event_id}/waitlist.csv`)."""
        if request.accept_mimetypes.best_match(["application/json", CSV_TYPE]) == CSV_TYPE:
            return _csv(event_id)
        return waitlist_views.event_line(current_org(), event_id)


@blp.route("/events/<event_id>/waitlist.csv")
class EventWaitlistExport(MethodView):
    @require_role(READERS, scope="read")
    @blp.doc(responses={"200": {"description": "The event's waiting lists as CSV", "content": {CSV_TYPE: CSV_DOC}}})
    def get(self, event_id):
        """The event's waiting-list line as CSV, one row per entry with its newest offer."""
        return _csv(event_id)

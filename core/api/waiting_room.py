"""Waiting-room API: staff switch an event's on-sale waiting room on, read and off
(`/events/{event_id}/waiting-room`); buyers join its queue and read where they stand
(`/client/events/{event_id}/queue`), getting their queue pass once admitted.

Parses and serialises only; the rules are in `core.services.waiting_rooms` (the purchase gate in
`core.services.queue_passes`).
"""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import fields, validate

from core.api.blueprint import Blueprint
from core.api.fields import UtcTime
from core.api_schema import Schema
from core.auth import require_role
from core.services import waiting_rooms
from core.tenancy import current_org

blp = Blueprint("waiting_room", __name__, description="On-sale waiting rooms: the staff switch and the buyers' queue")


class WaitingRoomBody(Schema):
    """An event's waiting room."""

    startsAt = fields.DateTime(required=True, metadata={
        "description": "When admissions begin (ISO 8601; UTC when no offset is given). Everyone who joins before "
                       "is admitted in a random order, everyone later in join order."})
    ratePerSecond = fields.Float(required=True, validate=validate.Range(min=0.01, max=10000), metadata={
        "description": "Admissions per second (0.5: one every two seconds)."})
    passMinutes = fields.Integer(load_default=10, strict=True, validate=validate.Range(min=1, max=240), metadata={
        "description": "How long an admitted buyer's queue pass is valid, from their admission."})


class WaitingRoomView(Schema):
    """An event's waiting room and its queue now."""

    eventId = fields.String()
    startsAt = UtcTime()
    ratePerSecond = fields.Float()
    passMinutes = fields.Integer()
    started = fields.Boolean(metadata={"description": "Admissions have begun (start and rate are now fixed)."})
    joined = fields.Integer(metadata={"description": "Entries in the queue."})
    admitted = fields.Integer(metadata={"description": "Entries admitted so far."})


class WaitingRoomEnvelope(Schema):
    data = fields.Nested(WaitingRoomView)


class QueueQuery(Schema):
    queueToken = fields.String(required=True, validate=validate.Length(min=1, max=2048),
                          metadata={"description": "The `queueToken` the join answered."})


class QueueStandingView(Schema):
    """Where a buyer stands in the queue."""

    queueToken = fields.String(metadata={"description": "Read the standing with it (GET ...?queueToken=)."})
    state = fields.String(metadata={"description": "`before_start`, `waiting`, `admitted` or `expired`."})
    position = fields.Integer(allow_none=True, metadata={
        "description": "Entries ahead still waiting (0 once admitted); null before the start."})
    estimatedWaitSeconds = fields.Integer(allow_none=True, metadata={
        "description": "Seconds until admission (before the start: until the start, at least)."})
    startsAt = UtcTime()
    admitsAt = UtcTime(allow_none=True)
    queuePass = fields.String(allow_none=True, metadata={
        "description": "Once admitted: send it as the `Queue-Pass` header (or `queuePass` form field) with the "
                       "purchase; it buys once."})
    passExpiresAt = UtcTime(allow_none=True)


def room_view(view: waiting_rooms.RoomView) -> dict:
    """The JSON form of a room as staff see it."""
    room = view.room
    return {"data": {"eventId": room.event_id, "startsAt": room.starts_at, "ratePerSecond": room.rate,
                     "passMinutes": room.pass_minutes, "started": view.started, "joined": view.counts.joined,
                     "admitted": view.counts.admitted}}


def standing_view(standing: waiting_rooms.QueueStanding) -> dict:
    """The JSON form of a buyer's standing."""
    return {"queueToken": standing.token, "state": standing.state, "position": standing.position,
            "estimatedWaitSeconds": standing.wait_seconds, "startsAt": standing.starts_at,
            "admitsAt": standing.admits_at, "queuePass": standing.queue_pass,
            "passExpiresAt": standing.pass_expires_at}


@blp.route("/events/<event_id>/waiting-room")
class EventWaitingRoom(MethodView):
    @require_role("staff", scope="read")
    @blp.response(200, WaitingRoomEnvelope)
    def get(self, event_id):
        """The event's waiting room with its queue's counts (404 `waiting_room_not_found` when it has none)."""
        return room_view(waiting_rooms.describe(current_org(), event_id))

    @require_role("staff", scope="events")
    @blp.arguments(WaitingRoomBody)
    @blp.response(200, WaitingRoomEnvelope)
    def put(self, data, event_id):
        """Switch the event's waiting room on, or change it. While it is on, every customer purchase of the event
        needs a queue pass. 409 `waiting_room_started`: start and rate are fixed once admissions began."""
        return room_view(waiting_rooms.configure(current_org(), event_id, starts_at=data["startsAt"],
                                                 rate=data["ratePerSecond"], pass_minutes=data["passMinutes"]))

    @require_role("staff", scope="events")
    @blp.response(204)
    def delete(self, event_id):
        """Switch the waiting room off: purchases need no pass again; the queue is dropped."""
        waiting_rooms.switch_off(current_org(), event_id)


@blp.route("/client/events/<event_id>/queue")
class EventQueue(MethodView):
    @blp.response(201, QueueStandingView)
    def post(self, event_id):
        """Join the event's queue (guest or customer): the answer's `queueToken` reads the standing, and carries
        the pass at once when the queue has caught up. 404 `waiting_room_not_found` when the event has none."""
        return standing_view(waiting_rooms.join(current_org(), event_id))

    @blp.arguments(QueueQuery, location="query")
    @blp.response(200, QueueStandingView)
    def get(self, args, event_id):
        """Where the token's entry stands: position, estimated wait and, once admitted, the `queuePass`
        (404 `queue_entry_not_found` for an unknown or forged token)."""
        return standing_view(waiting_rooms.standing(current_org(), event_id, args["queueToken"]))

"""Session participation endpoints: customers choose sessions and answer invitations; staff invite and list.

Thin views over `core.services.participation`; no seat or status changes happen here.
"""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import fields, validate

from core.api.blueprint import Blueprint
from core.api.staff_tickets import ParticipantSchema
from core.api.ticket_schema import TicketEventSchema
from core.api_schema import Schema
from core.auth import current_identity, require_role
from core.models import Participation
from core.pagination import PageNumberQuery, paginate_block
from core.roles import CUSTOMER, MANAGERS, READERS
from core.services import participation
from core.tenancy import current_org
from core.timefmt import iso_utc

blp = Blueprint("participation", __name__, description="Sessions of parent events: selections and invitations")

_id = fields.String(validate=validate.Length(min=1, max=64))


class ChooseSessions(Schema):
    sessionIds = fields.List(_id, required=True, validate=validate.Length(min=1, max=100))


class Respond(Schema):
    response = fields.String(required=True, validate=validate.OneOf(("accept", "decline")))


class Invite(Schema):
    email = fields.Email(required=True)
    name = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))


class ParticipationSchema(Schema):
    id = fields.String(metadata={"description": "The participantId used by `respond`"})
    sessionId = fields.String()
    parentEventId = fields.String()
    session = fields.Nested(TicketEventSchema, metadata={"description": "`{id, name, startsAt, endsAt}`"})
    status = fields.String(metadata={"description": "selected | invited | accepted | declined | released"})
    source = fields.String(metadata={"description": "customer | invite"})
    respondedAt = fields.String(allow_none=True)
    createdAt = fields.String()


class ParticipationList(Schema):
    participation = fields.List(fields.Nested(ParticipationSchema))


class ParentParticipation(ParticipationList):
    eventId = fields.String(metadata={"description": "The parent event"})


class PublicParticipant(Schema):
    name = fields.String(metadata={"description": "'names': first name + last initial; 'full': full name"})
    firstName = fields.String()
    lastName = fields.String()
    email = fields.String(metadata={"description": "Only when the tenant's visibility is 'full'"})


class PublicParticipantPage(Schema):
    visibility = fields.String(metadata={"description": "names | full (the tenant's participants_visibility)"})
    participants = fields.List(fields.Nested(PublicParticipant))
    paginate = fields.Dict(metadata={"description": "`{hasNextPage, nextPage}`"})


class SessionParticipant(ParticipantSchema):
    status = fields.String(metadata={"description": "selected | invited | accepted"})
    sessionId = fields.String()
    customerId = fields.String()


class SessionParticipantPage(Schema):
    participants = fields.List(fields.Nested(SessionParticipant))
    paginate = fields.Dict(metadata={"description": "`{hasNextPage, nextPage}`"})


def participation_view(row: Participation) -> dict:
    """One participation (a selection or an invitation) with its session's name and times."""
    session = row.session
    return {
        "id": row.id, "sessionId": row.session_id, "parentEventId": row.parent_id, "status": row.status,
        "source": row.source, "respondedAt": iso_utc(row.responded_at), "createdAt": iso_utc(row.created_at),
        "session": {"id": session.id, "name": session.name, "startsAt": iso_utc(session.starts_at),
                    "endsAt": iso_utc(session.ends_at)},
    }


def _me() -> str:
    return current_identity().sub


def _chosen(outcome: participation.Outcome) -> dict:
    return {"eventId": outcome.parent.id, "participation": [participation_view(r) for r in outcome.rows]}


@blp.route("/client/events/<event_id>/participation")
class MySessions(MethodView):
    @require_role("customer")
    @blp.arguments(ChooseSessions)
    @blp.response(201, ParentParticipation)
    def post(self, data, event_id):
        """Add sessions of a parent event to my selection (403 `ticket_required`, 409 `sessions_overlap` /
        `session_full`); answers my whole selection in that event."""
        return _chosen(participation.choose_sessions(current_org(), _me(), event_id, data["sessionIds"]))

    @require_role("customer")
    @blp.arguments(ChooseSessions)
    @blp.response(200, ParentParticipation)
    def put(self, data, event_id):
        """Make my selection in a parent event exactly `sessionIds` (dropped sessions free their seats)."""
        return _chosen(participation.choose_sessions(current_org(), _me(), event_id, data["sessionIds"],
                                                     replace=True))


@blp.route("/client/events/participation/mine")
class MyParticipation(MethodView):
    @require_role("customer")
    @blp.response(200, ParticipationList)
    def get(self):
        """My session selections and invitations across events, soonest session first."""
        rows = participation.my_participation(current_org(), _me())
        return {"participation": [participation_view(r) for r in rows]}


@blp.route("/client/events/participation/<participant_id>/respond")
class RespondToInvite(MethodView):
    @require_role("customer")
    @blp.arguments(Respond)
    @blp.response(200, ParticipationSchema)
    def put(self, data, participant_id):
        """Accept or decline an invitation, once (409 `already_responded`); declining frees the seat."""
        return participation_view(participation.respond(current_org(), _me(), participant_id, data["response"]))


@blp.route("/client/events/<event_id>/participants")
class PublicParticipants(MethodView):
    @require_role(CUSTOMER, READERS, scope="read")
    @blp.arguments(PageNumberQuery, location="query")
    @blp.response(200, PublicParticipantPage)
    def get(self, query, event_id):
        """Who attends a session (or any session of a parent event), as the tenant's
        `participants_visibility` allows: none (403 `participants_hidden`) | names | full."""
        visibility, page = participation.public_participants(current_org(), event_id, page=query["page"],
                                                             limit=query["limit"])
        return {"visibility": visibility, "participants": page.rows, "paginate": paginate_block(page)}


@blp.route("/events/<event_id>/participants/invite")
class InviteToSession(MethodView):
    @require_role(MANAGERS, scope="events")
    @blp.arguments(Invite)
    @blp.response(201, ParticipationSchema)
    def post(self, data, event_id):
        """Invite a registered customer to a session; the invitation holds a seat until declined."""
        identity = current_identity()
        row = participation.invite(current_org(), event_id, email=data["email"], name=data["name"],
                                   invited_by=identity.email or identity.sub)
        return participation_view(row)


@blp.route("/events/<event_id>/participation")
class SessionParticipants(MethodView):
    @require_role(READERS, scope="read")
    @blp.arguments(PageNumberQuery, location="query")
    @blp.response(200, SessionParticipantPage)
    def get(self, query, event_id):
        """A session's participants (chosen, accepted or invited) in 002's shape plus `status`, page/limit."""
        page = participation.session_participants(current_org(), event_id, page=query["page"], limit=query["limit"])
        return {"participants": page.rows, "paginate": paginate_block(page)}

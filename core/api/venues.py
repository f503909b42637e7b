"""Staff venues API: list, create, read, update, delete the tenant's venues.

Staff only; another tenant's venue is a 404, never a 403.
"""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import fields, validate

from core.api.blueprint import Blueprint
from core.api.event_schemas import EventListMeta, VenueView, venue_view
from core.api_schema import Schema
from core.auth import require_role
from core.models import Venue
from core.pagination import DEFAULT_PAGE_SIZE, CursorPageQuery, SortKey, page_body, paginate_cursor
from core.roles import MANAGERS, READERS
from core.services import venues
from core.tenancy import current_org, scoped

blp = Blueprint("venues", __name__, description="Venues (staff)")

_KEYS = [SortKey("name", Venue.name), SortKey("id", Venue.id)]


class VenueBody(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    address = fields.String(validate=validate.Length(max=2000))
    city = fields.String(validate=validate.Length(max=120))
    country = fields.String(validate=validate.Length(max=2), metadata={"description": "ISO 3166 alpha-2."})
    tz = fields.String(metadata={"description": "IANA timezone; default: the organisation's."})
    capacity = fields.Integer(allow_none=True, validate=validate.Range(min=0))

    class Meta:
        ordered = True


class VenuePatch(VenueBody):
    """Any subset of the venue fields."""


class VenueEnvelope(Schema):
    data = fields.Nested(VenueView)


class VenueList(Schema):
    data = fields.List(fields.Nested(VenueView))
    meta = fields.Nested(EventListMeta)


@blp.route("/venues")
class VenueCollection(MethodView):
    @require_role(READERS, scope="read")
    @blp.arguments(CursorPageQuery, location="query")
    @blp.response(200, VenueList)
    def get(self, args):
        """The tenant's venues by name, cursor-paginated."""
        page = paginate_cursor(scoped(Venue, current_org()), _KEYS, args.get("page_size", DEFAULT_PAGE_SIZE),
                               args.get("page_cursor"))
        return page_body(page, venue_view)

    @require_role(MANAGERS, scope="events")
    @blp.arguments(VenueBody)
    @blp.response(201, VenueEnvelope)
    def post(self, data):
        """Create a venue (its `tz` is the default timezone of its events)."""
        return {"data": venue_view(venues.create_venue(current_org(), data))}


@blp.route("/venues/<venue_id>")
class VenueItem(MethodView):
    @require_role(READERS, scope="read")
    @blp.response(200, VenueEnvelope)
    def get(self, venue_id):
        """One venue."""
        return {"data": venue_view(venues.get_venue(current_org(), venue_id))}

    @require_role(MANAGERS, scope="events")
    @blp.arguments(VenuePatch(partial=True))
    @blp.response(200, VenueEnvelope)
    def patch(self, data, venue_id):
        """Change some fields of a venue."""
        return {"data": venue_view(venues.update_venue(current_org(), venue_id, data))}

    @require_role(MANAGERS, scope="events")
    @blp.response(204)
    def delete(self, venue_id):
        """Delete a venue; its events stay, without a venue."""
        venues.delete_venue(current_org(), venue_id)
        return "", 204

"""Staff event lists API (003 "Event lists"): an event's lists (JSON or multipart with `list[...]` keys and an
image), permanent lists, and moving a ticket to another list.

Thin views: parse with the list schemas, call `core.services.event_lists`, render; no rules here.
"""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import fields, validate
from werkzeug.datastructures import FileStorage

from core.api.blueprint import Blueprint
from core.api.event_list_schema import (
    INCLUDES,
    EventListView,
    ListBody,
    ListPatch,
    PermanentListBody,
    PermanentListPatch,
    PermanentListView,
    list_view,
    multipart_doc,
    permanent_list_view,
)
from core.api.event_schemas import EventListMeta, check_bracket_params, comma_set
from core.api.multipart import load_body
from core.api.ticket_schema import StaffTicketSchema, ticket_view
from core.api_schema import Schema
from core.auth import require_role
from core.models import EventList, Org, PermanentList
from core.pagination import DEFAULT_PAGE_SIZE, CursorPageQuery, SortKey, page_body, paginate_cursor
from core.roles import MANAGERS, READERS
from core.services import event_lists, ticket_queries
from core.services.event_lists import MAX_IMAGE_BYTES, RENDITIONS, ImageTooLarge, ListFilters
from core.tenancy import current_org

blp = Blueprint("event_lists", __name__, description="Event lists (staff): guest lists of an event, permanent lists")

_PERMANENT_KEYS = [SortKey("name", PermanentList.name), SortKey("id", PermanentList.id)]


def _images_field() -> fields.String:
    return fields.String(data_key="images[list][image]", metadata={
        "description": f"Comma list of image renditions to show: {', '.join(RENDITIONS)} (default: all)."})


class ListViewQuery(Schema):
    """`include` and `images[list][image]` of a list answer."""

    include = fields.String(metadata={"description": f"Comma list: {', '.join(INCLUDES)}."})
    images = _images_field()


class ListPageQuery(CursorPageQuery):
    """The list listing: cursor pages, `sort[name]`, `filter[permanent_list_id]`, includes, renditions."""

    include = fields.String(metadata={"description": f"Comma list: {', '.join(INCLUDES)}."})
    images = _images_field()
    sort_name = fields.String(data_key="sort[name]", validate=validate.OneOf(("asc", "desc")),
                              metadata={"description": "By name (default: the default list first, then by "
                                                       "creation)."})
    permanent_list_id = fields.String(data_key="filter[permanent_list_id]", validate=validate.Length(max=64),
                                      metadata={"description": "Only lists that reference this permanent list."})


class EventListEnvelope(Schema):
    data = fields.Nested(EventListView)


class EventListPage(Schema):
    data = fields.List(fields.Nested(EventListView))
    meta = fields.Nested(EventListMeta)


class PermanentListEnvelope(Schema):
    data = fields.Nested(PermanentListView)


class PermanentListPage(Schema):
    data = fields.List(fields.Nested(PermanentListView))
    meta = fields.Nested(EventListMeta)


class MoveTicketBody(Schema):
    """The list to put a ticket on."""

    listId = fields.String(required=True, allow_none=True, validate=validate.Length(max=64), metadata={
        "description": "A list of the ticket's event (or its parent event); null: back to its ticket type's list."})


def _body_doc(schema: type[Schema], required: bool) -> dict:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema},
                                                          "multipart/form-data": multipart_doc(required)}}}


def list_input(schema: Schema) -> tuple[dict, FileStorage | None, bool]:
    """The request's list body loaded with `schema` (JSON, or multipart `list[...]` fields; also the
    public_api_v2 plugin's): the loaded list fields, the uploaded image (multipart only) and whether JSON asked
    to remove the image."""
    too_large = ImageTooLarge(f"A list image can be at most {MAX_IMAGE_BYTES:,} bytes.")
    data, image, _location = load_body(schema, "list", "image", MAX_IMAGE_BYTES, too_large, "list",
                                       blank_is_null=("permanent_list_id",))
    remove_image = "image" in data
    data.pop("image", None)
    return data, image, remove_image


def _view_options(args: dict) -> tuple[set[str], set[str] | None]:
    include = comma_set(args.get("include"), set(INCLUDES), "include")
    wanted = args.get("images")
    renditions = comma_set(wanted, set(RENDITIONS), "images[list][image]") if wanted is not None else None
    return include, renditions


def list_renderer(org: Org, rows: list[EventList], args: dict):
    """A renderer for `rows` (parsed `ListViewQuery`/`ListPageQuery` args: includes, renditions), permanent
    lists preloaded in one query; also the public_api_v2 plugin's."""
    include, renditions = _view_options(args)
    permanent = event_lists.permanent_lists_for(org, rows) if "permanent_list" in include else {}
    return lambda row: list_view(row, include, renditions=renditions, permanent_lists=permanent)


def _one(row: EventList, args: dict) -> dict:
    return {"data": list_renderer(current_org(), [row], args)(row)}


@blp.route("/events/<event_id>/lists")
class ListCollection(MethodView):
    @require_role(READERS, scope="read")
    @blp.arguments(ListPageQuery, location="query")
    @blp.response(200, EventListPage)
    def get(self, args, event_id):
        """The event's lists, default first (or `sort[name]`), cursor-paginated; `include=permanent_list,setting`,
        `filter[permanent_list_id]`, `images[list][image]`."""
        check_bracket_params(ListPageQuery())
        org = current_org()
        sort = args.get("sort_name")
        page = event_lists.list_page(org, event_id, ListFilters(permanent_list_id=args.get("permanent_list_id")),
                                     None if sort is None else sort == "desc",
                                     args.get("page_size", DEFAULT_PAGE_SIZE), args.get("page_cursor"))
        return page_body(page, list_renderer(org, page.rows, args))

    @require_role(MANAGERS, scope="events")
    @blp.doc(**_body_doc(ListBody, required=True))
    @blp.arguments(ListViewQuery, location="query")
    @blp.response(201, EventListEnvelope)
    def post(self, args, event_id):
        """Create a list: JSON `{"list": {...}}` or multipart `list[name]`, `list[description]`,
        `list[image]` (the image only in multipart)."""
        data, image, _remove = list_input(ListBody())
        row = event_lists.create_list(current_org(), event_id, data, image.stream if image else None)
        return _one(row, args)


@blp.route("/events/<event_id>/lists/<list_id>")
class ListItem(MethodView):
    @require_role(READERS, scope="read")
    @blp.arguments(ListViewQuery, location="query")
    @blp.response(200, EventListEnvelope)
    def get(self, args, event_id, list_id):
        """One list of the event."""
        return _one(event_lists.get_event_list(current_org(), event_id, list_id), args)

    @require_role(MANAGERS, scope="events")
    @blp.doc(**_body_doc(ListPatch, required=False))
    @blp.arguments(ListViewQuery, location="query")
    @blp.response(200, EventListEnvelope)
    def patch(self, args, event_id, list_id):
        """Change the fields sent; a multipart `list[image]` replaces the image, JSON `"image": null` removes it."""
        data, image, remove_image = list_input(ListPatch())
        row = event_lists.update_list(current_org(), event_id, list_id, data, image.stream if image else None,
                                      remove_image=remove_image)
        return _one(row, args)

    @require_role(MANAGERS, scope="events")
    @blp.response(204)
    def delete(self, event_id, list_id):
        """Delete a list: 409 `default_list` for the event's default list, `list_in_use` while ticket types or
        tickets are on it."""
        event_lists.delete_list(current_org(), event_id, list_id)
        return "", 204


@blp.route("/events/tickets/<ticket_id>/list")
class TicketList(MethodView):
    @require_role(MANAGERS, scope="orders")
    @blp.arguments(MoveTicketBody)
    @blp.response(200, StaffTicketSchema)
    def put(self, data, ticket_id):
        """Put a ticket on another list of its event (its description then shows on the ticket); `listId: null`
        puts it back on its ticket type's list."""
        org = current_org()
        ticket = event_lists.move_ticket(org, ticket_queries.staff_ticket(org, ticket_id), data["listId"])
        return ticket_view(ticket, staff=True, event_list=event_lists.effective_lists(org, [ticket]).get(ticket.id))


@blp.route("/permanent-lists")
class PermanentListCollection(MethodView):
    @require_role(READERS, scope="read")
    @blp.arguments(CursorPageQuery, location="query")
    @blp.response(200, PermanentListPage)
    def get(self, args):
        """The organisation's permanent lists by name, cursor-paginated."""
        page = paginate_cursor(event_lists.permanent_list_query(current_org()), _PERMANENT_KEYS,
                               args.get("page_size", DEFAULT_PAGE_SIZE), args.get("page_cursor"))
        return page_body(page, permanent_list_view)

    @require_role(MANAGERS, scope="events")
    @blp.arguments(PermanentListBody)
    @blp.response(201, PermanentListEnvelope)
    def post(self, data):
        """Create a permanent list (a tenant-wide list that event lists may reference)."""
        return {"data": permanent_list_view(event_lists.save_permanent_list(current_org(), data))}


@blp.route("/permanent-lists/<permanent_list_id>")
class PermanentListItem(MethodView):
    @require_role(READERS, scope="read")
    @blp.response(200, PermanentListEnvelope)
    def get(self, permanent_list_id):
        """One permanent list."""
        return {"data": permanent_list_view(event_lists.get_permanent_list(current_org(), permanent_list_id))}

    @require_role(MANAGERS, scope="events")
    @blp.arguments(PermanentListPatch)
    @blp.response(200, PermanentListEnvelope)
    def patch(self, data, permanent_list_id):
        """Change the fields sent."""
        return {"data": permanent_list_view(event_lists.save_permanent_list(current_org(), data,
                                                                             permanent_list_id))}

    @require_role(MANAGERS, scope="events")
    @blp.response(204)
    def delete(self, permanent_list_id):
        """Delete a permanent list; 409 `permanent_list_in_use` while event lists reference it."""
        event_lists.delete_permanent_list(current_org(), permanent_list_id)
        return "", 204

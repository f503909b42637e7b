"""HTTP routes of the public_api_v2 plugin for 003's event lists: `GET/POST /events/{event_id}/lists` and
`PATCH /events/{event_id}/lists/{id}`, with numeric ids, JSON or multipart (`list[name]`, `list[description]`,
`list[image]`).

Thin views over the core's list service and its list views (`core.services.event_lists`,
`core.api.event_lists`); ids swapped through the declarative maps of `plugins.public_api_v2.ids`. No rule of
its own.
"""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import fields

from core.api.event_list_schema import ListBody, ListPatch, PermanentListView, multipart_doc
from core.api.event_lists import ListPageQuery, ListViewQuery, list_input, list_renderer
from core.api.event_schemas import EventListMeta, check_bracket_params
from core.api_schema import Schema
from core.auth import require_role
from core.kits.public_ids import uuid_for, uuids_for
from core.models import Event, EventList, Org, PermanentList
from core.models.public_id import PUBLIC_ID_LIMIT
from core.pagination import DEFAULT_PAGE_SIZE, page_body
from core.roles import MANAGERS, READERS
from core.services import event_lists
from core.services.event_lists import ListFilters
from core.tenancy import current_org
from plugins.public_api_v2.api import EVENT_PATH, EventListV2View, blp, public_id_field, with_numeric_id
from plugins.public_api_v2.ids import numeric_schema, resolve, to_public_ids, to_uuids

# Body field / answer field -> the model whose numeric id it holds.
LIST_BODY = {"permanent_list_id": "PermanentList"}
LIST_VIEW = {"id": "EventList", "event_id": "Event", "permanent_list_id": "PermanentList",
             "permanent_list": {"id": "PermanentList"}}
CREATE_BODY = numeric_schema(ListBody, LIST_BODY)
UPDATE_BODY = numeric_schema(ListPatch, LIST_BODY)
LIST_PATH = f"{EVENT_PATH}/lists"


class ListV2(EventListV2View):
    """003 event list (the extended serializer): numeric ids, `links`, `setting` and `permanent_list` includes."""

    permanent_list = fields.Nested(with_numeric_id(PermanentListView), allow_none=True,
                                   metadata={"description": "With `include=permanent_list`."})


class ListEnvelopeV2(Schema):
    """`{"data": <list>}`."""

    data = fields.Nested(ListV2)


class ListPageV2(Schema):
    """A cursor page of an event's lists."""

    data = fields.List(fields.Nested(ListV2))
    meta = fields.Nested(EventListMeta)


class ListPageQueryV2(ListPageQuery):
    """003's list query: `filter[permanent_list_id]` a numeric id."""

    permanent_list_id = public_id_field("filter[permanent_list_id]", "Only lists that reference this permanent list.")


def _body_doc(derived, required: bool) -> dict:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": derived.schema},
                                                          "multipart/form-data": multipart_doc(required)}}}


def lists_v2(org: Org, views: list[dict]) -> list[dict]:
    """003's lists from the core's list views: UUIDs swapped for numeric ids (one lookup per table)."""
    return to_public_ids(org, views, resolve(LIST_VIEW))


def _event_uuid(org: Org, event_id: int) -> str:
    return uuid_for(Event, org, event_id, "event")


def _written(org: Org, row: EventList, args: dict) -> dict:
    return {"data": lists_v2(org, [list_renderer(org, [row], args)(row)])[0]}


@blp.route(LIST_PATH)
class ListCollectionV2(MethodView):
    @require_role(READERS, scope="read")
    @blp.arguments(ListPageQueryV2, location="query")
    @blp.response(200, ListPageV2)
    def get(self, args, event_id):
        """The event's lists (003 "List event lists"): default first, or `sort[name]=asc|desc`; `page[cursor]`,
        `page[size]`; `filter[permanent_list_id]` (numeric); `include=permanent_list,setting`;
        `images[list][image]`; each with `links.event_page` and `links.order_page`."""
        check_bracket_params(ListPageQueryV2())
        org = current_org()
        permanent = args.get("permanent_list_id")
        if permanent is not None:  # an unknown number matches no list, as an unknown UUID does
            permanent = uuids_for(PermanentList, org, [permanent]).get(permanent, str(permanent))
        sort = args.get("sort_name")
        page = event_lists.list_page(org, _event_uuid(org, event_id), ListFilters(permanent_list_id=permanent),
                                     None if sort is None else sort == "desc",
                                     args.get("page_size", DEFAULT_PAGE_SIZE), args.get("page_cursor"))
        body = page_body(page, list_renderer(org, page.rows, args))
        return {**body, "data": lists_v2(org, body["data"])}

    @require_role(MANAGERS, scope="events")
    @blp.doc(**_body_doc(CREATE_BODY, required=True))
    @blp.arguments(ListViewQuery, location="query")
    @blp.response(201, ListEnvelopeV2)
    def post(self, args, event_id):
        """Create a list (003 "Create event list"): JSON `{"list": {...}}` or multipart `list[name]`,
        `list[description]` (rich text, sanitised), `list[image]` (JPEG or non-interlaced PNG)."""
        org = current_org()
        event_uuid = _event_uuid(org, event_id)
        data, image, _remove = list_input(CREATE_BODY.schema())
        row = event_lists.create_list(org, event_uuid, to_uuids(org, data, CREATE_BODY),
                                      image.stream if image else None)
        return _written(org, row, args)


@blp.route(f"{LIST_PATH}/<int(min=1, max={PUBLIC_ID_LIMIT - 1}):list_id>")
class ListItemV2(MethodView):
    @require_role(MANAGERS, scope="events")
    @blp.doc(**_body_doc(UPDATE_BODY, required=False))
    @blp.arguments(ListViewQuery, location="query")
    @blp.response(200, ListEnvelopeV2)
    def patch(self, args, event_id, list_id):
        """Change a list (003 "Update event list"): only the fields sent; a multipart `list[image]` replaces the
        image, JSON `"image": null` removes it. 404 `event_not_found` / `list_not_found`."""
        org = current_org()
        event_uuid = _event_uuid(org, event_id)
        list_uuid = uuid_for(EventList, org, list_id, "list")
        data, image, remove_image = list_input(UPDATE_BODY.schema())
        row = event_lists.update_list(org, event_uuid, list_uuid, to_uuids(org, data, UPDATE_BODY),
                                      image.stream if image else None, remove_image=remove_image)
        return _written(org, row, args)

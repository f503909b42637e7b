"""Staff API of the event taxonomy: `/categories`, `/tags`, `/campaigns` and `/calendars`, each with list,
create, read, change and delete (`/{kind}/{id}`).

The four route sets are made by one function from each kind's schemas; views parse, call
`core.services.taxonomy` and render, nothing more. Another tenant's record is a 404.
"""

from __future__ import annotations

from collections.abc import Callable

from flask.views import MethodView
from marshmallow import fields

from core.api.blueprint import Blueprint
from core.api.event_schemas import EventListMeta
from core.api.taxonomy_schema import (
    CalendarBody,
    CalendarView,
    CampaignBody,
    CampaignView,
    CategoryBody,
    CategoryView,
    TagBody,
    TagView,
    calendar_view,
    campaign_view,
    category_view,
    tag_view,
)
from core.api_schema import Schema
from core.auth import require_role
from core.models import utcnow
from core.pagination import CursorPageQuery, page_body
from core.roles import MANAGERS, READERS
from core.services import taxonomy
from core.tenancy import current_org

blp = Blueprint("taxonomy", __name__, description="Categories, tags, campaigns and calendars of events (staff)")


def _render_campaign(campaign) -> dict:
    return campaign_view(campaign, utcnow())


def _routes(what: str, plural: str, body: type[Schema], view: type[Schema], render: Callable[..., dict],
            deleting: str) -> None:
    """Register `/{plural}` and `/{plural}/{what}_id` for the records of kind `what`."""
    envelope = Schema.from_dict({"data": fields.Nested(view)}, name=f"{view.__name__}Envelope")
    listing = Schema.from_dict({"data": fields.List(fields.Nested(view)), "meta": fields.Nested(EventListMeta)},
                               name=f"{view.__name__}List")
    patch = type(f"{body.__name__}Patch", (body,), {"__doc__": f"Any subset of the {what} fields."})
    label = what.replace("_", " ")

    def list_records(self, args):
        return page_body(taxonomy.list_records(current_org(), what, args.get("page_size"), args.get("page_cursor")),
                         render)

    def create(self, data):
        return {"data": render(taxonomy.create_record(current_org(), what, data))}

    def read(self, **ids):
        return {"data": render(taxonomy.get_record(current_org(), what, ids[f"{what}_id"]))}

    def change(self, data, **ids):
        return {"data": render(taxonomy.update_record(current_org(), what, ids[f"{what}_id"], data))}

    def delete(self, **ids):
        taxonomy.delete_record(current_org(), what, ids[f"{what}_id"])
        return "", 204

    list_records.__doc__ = f"The organisation's {plural}, cursor-paginated."
    create.__doc__ = f"Create a {label}."
    read.__doc__ = f"One {label}."
    change.__doc__ = f"Change some fields of a {label}."
    delete.__doc__ = f"Delete a {label}; {deleting}."
    collection = type(f"{view.__name__}Collection", (MethodView,), {
        "get": require_role(READERS, scope="read")(blp.arguments(CursorPageQuery, location="query")(
            blp.response(200, listing)(list_records))),
        "post": require_role(MANAGERS, scope="events")(blp.arguments(body)(blp.response(201, envelope)(create))),
    })
    item = type(f"{view.__name__}Item", (MethodView,), {
        "get": require_role(READERS, scope="read")(blp.response(200, envelope)(read)),
        "patch": require_role(MANAGERS, scope="events")(blp.arguments(patch(partial=True))(
            blp.response(200, envelope)(change))),
        "delete": require_role(MANAGERS, scope="events")(blp.response(204)(delete)),
    })
    blp.route(f"/{plural}")(collection)
    blp.route(f"/{plural}/<{what}_id>")(item)


_routes("category", "categories", CategoryBody, CategoryView, category_view, "its events lose it")
_routes("tag", "tags", TagBody, TagView, tag_view, "its events lose it")
_routes("campaign", "campaigns", CampaignBody, CampaignView, _render_campaign, "its events lose it")
_routes("calendar", "calendars", CalendarBody, CalendarView, calendar_view,
        "its events keep no calendar (`calendar_id` null)")

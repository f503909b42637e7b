"""HTTP routes of the public_api_v2 plugin for templates and event settings, with numeric ids: CRUD at
`/pdf_templates`, `/email_templates` and `/tally_templates`, and 003's `PATCH /events/{id}/setting`.

Thin views over the core's template and setting services and views (`core.api.templates`,
`core.api.template_schema`): the record's numeric `public_id` is its `id` here. No rule of its own.
"""

from __future__ import annotations

import functools

from flask.views import MethodView
from marshmallow import fields

from core.api.event_schemas import EventListMeta
from core.api.template_schema import SettingBody, SettingView, body_doc, setting_view, template_view
from core.api.templates import KINDS, Kind, create, update
from core.api_schema import Schema
from core.auth import require_role
from core.kits.public_ids import uuid_for
from core.models import Event, Org, Template
from core.models.public_id import PUBLIC_ID_LIMIT
from core.pagination import DEFAULT_PAGE_SIZE, CursorPageQuery, page_body
from core.services import event_settings, templates
from core.tenancy import current_org
from plugins.public_api_v2.api import EVENT_PATH, blp, numeric_id

V2_PATHS = {"pdf": "/pdf_templates", "email": "/email_templates", "tally": "/tally_templates"}
ID_PATH = f"<int(min=1, max={PUBLIC_ID_LIMIT - 1}):template_id>"


def template_v2(row: Template) -> dict:
    """A template as this API shows it: the core's view, its `public_id` as `id`."""
    view = template_view(row)
    view["id"] = view.pop("public_id")
    return view


@functools.cache
def view_v2(view: type) -> type:
    """A core template view schema with a numeric `id` and no `public_id`."""
    name = view.__name__.removesuffix("View") + "V2"
    return type(name, (view,), {"id": numeric_id(), "Meta": type("Meta", (), {"exclude": ("public_id",)})})


@functools.cache
def envelope_v2(view: type) -> type:
    """`{"data": <view>}`."""
    return Schema.from_dict({"data": fields.Nested(view)}, name=view.__name__ + "Envelope")


def template_uuid(org: Org, kind: str, template_id: int) -> str:
    """The UUID of the tenant's template with this numeric id, or 404 `template_not_found`."""
    return uuid_for(Template, org, template_id, "template")


def _add_routes(spec: Kind) -> None:
    label, path, view = templates.label(spec.kind), V2_PATHS[spec.kind], view_v2(spec.view)
    page = Schema.from_dict({"data": fields.List(fields.Nested(view)), "meta": fields.Nested(EventListMeta)},
                            name=view.__name__ + "Page")

    class Collection(MethodView):
        @require_role("staff", scope="read")
        @blp.arguments(CursorPageQuery, location="query")
        @blp.response(200, page)
        def get(self, args):
            found = templates.template_page(current_org(), spec.kind, args.get("page_size", DEFAULT_PAGE_SIZE),
                                            args.get("page_cursor"))
            return page_body(found, template_v2)

        @require_role("staff", scope="events")
        @blp.doc(**body_doc(spec.body, required=True, pdf=spec.kind == "pdf"))
        @blp.response(201, envelope_v2(view))
        def post(self):
            org = current_org()
            made = create(org, spec)
            return {"data": template_v2(templates.get_template(org, spec.kind, made["id"]))}

    class Item(MethodView):
        @require_role("staff", scope="read")
        @blp.response(200, envelope_v2(view))
        def get(self, template_id):
            org = current_org()
            return {"data": template_v2(templates.get_template(org, spec.kind,
                                                               template_uuid(org, spec.kind, template_id)))}

        @require_role("staff", scope="events")
        @blp.doc(**body_doc(spec.patch, required=False, pdf=spec.kind == "pdf"))
        @blp.response(200, envelope_v2(view))
        def patch(self, template_id):
            org = current_org()
            uuid = template_uuid(org, spec.kind, template_id)
            update(org, spec, uuid)
            return {"data": template_v2(templates.get_template(org, spec.kind, uuid))}

        @require_role("staff", scope="events")
        @blp.response(204)
        def delete(self, template_id):
            org = current_org()
            templates.delete_template(org, spec.kind, template_uuid(org, spec.kind, template_id))
            return "", 204

    Collection.get.__doc__ = f"{label.capitalize()}s by name, `page[size]`/`page[cursor]`; ids are numbers."
    Collection.post.__doc__ = f"Create a {label} (the core's fields and 422s)."
    Item.get.__doc__ = f"One {label} by its numeric id (404 `template_not_found`, also for another tenant's)."
    Item.patch.__doc__ = f"Change the fields sent of a {label}."
    Item.delete.__doc__ = f"Delete a {label}; 409 `template_in_use` while a setting or ticket type names it."
    name = path.strip("/")
    blp.route(path, endpoint=f"v2_{name}")(Collection)
    blp.route(f"{path}/{ID_PATH}", endpoint=f"v2_{name}_item")(Item)


for _spec in KINDS:
    _add_routes(_spec)


class SettingV2(SettingView):
    """003 event setting: its numeric id as `id` and the templates' numeric ids."""

    id = numeric_id("The setting's numeric id (null: the event names none yet); `event[setting_id]` reuses it.")

    class Meta:
        exclude = ("public_id",)


def setting_v2(org: Org, setting) -> dict:
    """003's view of an event setting (None: the event names none)."""
    view = setting_view(setting, event_settings.event_count(org, setting) if setting is not None else 0)
    view["id"] = view.pop("public_id")
    return view


class SettingEnvelopeV2(Schema):
    """`{"data": <setting>}`."""

    data = fields.Nested(SettingV2)


@blp.route(f"{EVENT_PATH}/setting")
class EventSettingV2(MethodView):
    @require_role("staff", scope="read")
    @blp.response(200, SettingEnvelopeV2)
    def get(self, event_id):
        """The event's setting (`id: null` while it names none)."""
        org = current_org()
        return {"data": setting_v2(org, event_settings.get_event_setting(org, uuid_for(Event, org, event_id,
                                                                                        "event")))}

    @require_role("staff", scope="events")
    @blp.arguments(SettingBody)
    @blp.response(200, SettingEnvelopeV2)
    def patch(self, data, event_id):
        """003 "Update event setting": `{"setting": {pdf_template_id, wallet_template_id,
        ticket_email_template_id, tally_template_id}}`; returns the setting. A setting shared through
        `event[setting_id]` changes for every event sharing it. 422 `template_not_found` naming each unknown id."""
        org = current_org()
        setting = event_settings.update_event_setting(org, uuid_for(Event, org, event_id, "event"), data)
        return {"data": setting_v2(org, setting)}

"""Staff templates API: PDF ticket designs (`/pdf-templates`, with a background image), ticket e-mail templates
(`/ticket-email-templates`, with a preview) and tally templates (`/tally-templates`); an event's setting
(`/events/{id}/setting`) and its door tally sheet (`/events/{id}/tally.pdf`).

Thin views: parse with the template schemas, call `core.services.templates` / `event_settings` / `tally` /
`ticket_emails`, render; no rules here. The three kinds share one set of views, made per kind below.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Response, send_file
from flask.views import MethodView
from marshmallow import fields

from core.api.blueprint import Blueprint
from core.api.event_schemas import EventListMeta
from core.api.template_schema import (
    EmailTemplateBody,
    EmailTemplatePatch,
    EmailTemplateView,
    PdfTemplateBody,
    PdfTemplatePatch,
    PdfTemplateView,
    PreviewBody,
    RenderedEmailView,
    SettingBody,
    SettingView,
    TallyTemplateBody,
    TallyTemplatePatch,
    TallyTemplateView,
    body_doc,
    setting_view,
    template_input,
    template_view,
)
from core.api_schema import Schema
from core.auth import require_role
from core.models import Org, Template
from core.pagination import DEFAULT_PAGE_SIZE, CursorPageQuery, page_body
from core.roles import MANAGERS, READERS
from core.services import event_settings, tally, templates, ticket_emails
from core.tenancy import current_org

blp = Blueprint("templates", __name__, description="Templates (staff): PDF ticket designs, ticket e-mails, door "
                                                   "tallies; event settings")


@dataclass(frozen=True)
class Kind:
    """One kind of template as the API serves it: its path, schemas and endpoint names."""

    kind: str
    path: str
    body: type
    patch: type
    view: type


KINDS = (Kind("pdf", "/pdf-templates", PdfTemplateBody, PdfTemplatePatch, PdfTemplateView),
         Kind("email", "/ticket-email-templates", EmailTemplateBody, EmailTemplatePatch, EmailTemplateView),
         Kind("tally", "/tally-templates", TallyTemplateBody, TallyTemplatePatch, TallyTemplateView))
PDF_CONTENT = {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}
_BINARY = {"schema": {"type": "string", "format": "binary"}}


@functools.cache
def envelope(view: type) -> type:
    """`{"data": <view>}`."""
    return Schema.from_dict({"data": fields.Nested(view)}, name=view.__name__.removesuffix("View") + "Envelope")


@functools.cache
def page_of(view: type) -> type:
    """A cursor page of `view`."""
    return Schema.from_dict({"data": fields.List(fields.Nested(view)), "meta": fields.Nested(EventListMeta)},
                            name=view.__name__.removesuffix("View") + "Page")


def create(org: Org, spec: Kind) -> Template:
    """Create a template of `spec`'s kind from this request (JSON or multipart)."""
    data, upload, _remove = template_input(spec.body())
    return templates.create_template(org, spec.kind, data, upload.stream if upload else None)


def update(org: Org, spec: Kind, template_id: str) -> Template:
    """Change a template of `spec`'s kind from this request."""
    data, upload, remove = template_input(spec.patch())
    return templates.update_template(org, spec.kind, template_id, data, upload.stream if upload else None,
                                     remove_background=remove)


def same_id(org: Org, template_id: str) -> str:
    """The core's routes name a template by its UUID as it is."""
    return template_id


def add_template_routes(blueprint: Blueprint, spec: Kind, path: str, id_rule: str, *, view: type,
                        render: Callable[[Template], dict] = template_view,
                        template_uuid: Callable[[Org, Any], str] = same_id) -> None:
    """CRUD routes for one kind of template on `blueprint`: `path` (list, create) and `path/<id_rule>` (get,
    change, delete), answering `render(row)` in `view`; `template_uuid` turns the path's id into the UUID (a
    plugin serving numeric ids passes its own)."""
    label = templates.label(spec.kind)
    name = f"{blueprint.name}_{path.strip('/').replace('-', '_')}"

    class Collection(MethodView):
        @require_role(READERS, scope="read")
        @blueprint.arguments(CursorPageQuery, location="query")
        @blueprint.response(200, page_of(view))
        def get(self, args):
            page = templates.template_page(current_org(), spec.kind, args.get("page_size", DEFAULT_PAGE_SIZE),
                                           args.get("page_cursor"))
            return page_body(page, render)

        @require_role(MANAGERS, scope="events")
        @blueprint.doc(**body_doc(spec.body, required=True, pdf=spec.kind == "pdf"))
        @blueprint.response(201, envelope(view))
        def post(self):
            return {"data": render(create(current_org(), spec))}

    class Item(MethodView):
        @require_role(READERS, scope="read")
        @blueprint.response(200, envelope(view))
        def get(self, template_id):
            org = current_org()
            return {"data": render(templates.get_template(org, spec.kind, template_uuid(org, template_id)))}

        @require_role(MANAGERS, scope="events")
        @blueprint.doc(**body_doc(spec.patch, required=False, pdf=spec.kind == "pdf"))
        @blueprint.response(200, envelope(view))
        def patch(self, template_id):
            org = current_org()
            return {"data": render(update(org, spec, template_uuid(org, template_id)))}

        @require_role(MANAGERS, scope="events")
        @blueprint.response(204)
        def delete(self, template_id):
            org = current_org()
            templates.delete_template(org, spec.kind, template_uuid(org, template_id))
            return "", 204

    Collection.get.__doc__ = f"The organisation's {label}s by name, cursor-paginated."
    Collection.post.__doc__ = (f"Create a {label}; 422 `invalid_template` naming each bad field (an unknown "
                               "placeholder too).")
    Item.get.__doc__ = f"One {label} (404 `template_not_found`, also for another organisation's)."
    Item.patch.__doc__ = f"Change the fields sent of a {label}; events and ticket types using it follow at once."
    Item.delete.__doc__ = f"Delete a {label}; 409 `template_in_use` while an event setting or ticket type names it."
    blueprint.route(path, endpoint=name)(Collection)
    blueprint.route(f"{path}/{id_rule}", endpoint=f"{name}_item")(Item)


for _spec in KINDS:
    add_template_routes(blp, _spec, _spec.path, "<template_id>", view=_spec.view)


@blp.route("/pdf-templates/<template_id>/background")
class PdfTemplateBackground(MethodView):
    @require_role(READERS, scope="read")
    @blp.doc(responses={"200": {"description": "The cleaned image.",
                                "content": {"image/jpeg": _BINARY, "image/png": _BINARY}}})
    def get(self, template_id):
        """A PDF design's background image; 404 `image_not_found` when it has none."""
        handle, content_type, key = templates.open_background(current_org().id, template_id)
        return send_file(handle, mimetype=content_type, conditional=True, max_age=300, etag=key.rsplit("/", 1)[-1])


@blp.route("/ticket-email-templates/<template_id>/preview")
class EmailTemplatePreview(MethodView):
    @require_role(READERS, scope="read")
    @blp.arguments(PreviewBody)
    @blp.response(200, envelope(RenderedEmailView))
    def post(self, data, template_id):
        """The template rendered with a booking's data (`bookingId`; 404 `booking_not_found`) or sample data:
        what its ticket e-mail would say. Sends nothing."""
        rendered = ticket_emails.preview(current_org(), template_id, data.get("bookingId"))
        return {"data": {"subject": rendered.subject, "body": rendered.body}}


@blp.route("/events/<event_id>/setting")
class EventSettingItem(MethodView):
    @require_role(READERS, scope="read")
    @blp.response(200, envelope(SettingView))
    def get(self, event_id):
        """The event's setting (the templates it uses); `id: null` and all null while it names none."""
        org = current_org()
        setting = event_settings.get_event_setting(org, event_id)
        return {"data": setting_view(setting, event_settings.event_count(org, setting) if setting else 0)}

    @require_role(MANAGERS, scope="events")
    @blp.arguments(SettingBody)
    @blp.response(200, envelope(SettingView))
    def patch(self, data, event_id):
        """Change the templates the event uses (003 `{"setting": {...}}`, numeric template ids; null: built-in).
        An event without a setting gets its own; a setting shared through `setting_id` is changed for every
        event that shares it (`event_count` says how many). 422 `template_not_found` naming each unknown id."""
        org = current_org()
        setting = event_settings.update_event_setting(org, event_id, data)
        return {"data": setting_view(setting, event_settings.event_count(org, setting))}


@blp.route("/events/<event_id>/tally.pdf")
class EventTally(MethodView):
    @require_role(READERS, scope="read")
    @blp.doc(responses={"200": {"description": "The door tally sheet (A4 PDF).", "content": PDF_CONTENT}})
    def get(self, event_id):
        """The event's door tally sheet: per ticket type its counts (sold, checked in...) and boxes to tally by
        hand, laid out by its setting's tally template (or the built-in one)."""
        event, body = tally.render_tally_pdf(current_org(), event_id)
        response = Response(body, mimetype="application/pdf")
        response.headers["Content-Disposition"] = f'inline; filename="tally-{event.id}.pdf"'
        response.headers["Cache-Control"] = "private, no-store"
        return response

"""HTTP routes of the public_api_v2 plugin for templates and event settings, with numeric ids: CRUD at
`/pdf_templates`, `/email_templates` and `/tally_templates`, and 003's `PATCH /events/{id}/setting`.

Thin views over the core's template and setting services and views (`core.api.templates`,
`core.api.template_schema`): the record's numeric `public_id` is its `id` here. No rule of its own.
"""

from __future__ import annotations

import functools

from flask.views import MethodView
from marshmallow import fields

from core.api.template_schema import SettingBody, SettingView, setting_view, template_view
from core.api.templates import KINDS, add_template_routes
from core.api_schema import Schema
from core.auth import require_role
from core.kits.public_ids import uuid_for
from core.models import Event, Org, Template
from core.models.public_id import PUBLIC_ID_LIMIT
from core.roles import MANAGERS, READERS
from core.services import event_settings
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


def template_uuid(org: Org, template_id: int) -> str:
    """The UUID of the tenant's template with this numeric id, or 404 `template_not_found`."""
    return uuid_for(Template, org, template_id, "template")


for _spec in KINDS:
    add_template_routes(blp, _spec, V2_PATHS[_spec.kind], ID_PATH, view=view_v2(_spec.view), render=template_v2,
                        template_uuid=template_uuid)


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
    @require_role(READERS, scope="read")
    @blp.response(200, SettingEnvelopeV2)
    def get(self, event_id):
        """The event's setting (`id: null` while it names none)."""
        org = current_org()
        return {"data": setting_v2(org, event_settings.get_event_setting(org, uuid_for(Event, org, event_id,
                                                                                        "event")))}

    @require_role(MANAGERS, scope="events")
    @blp.arguments(SettingBody)
    @blp.response(200, SettingEnvelopeV2)
    def patch(self, data, event_id):
        """003 "Update event setting": `{"setting": {pdf_template_id, wallet_template_id,
        ticket_email_template_id, tally_template_id}}`; returns the setting. A setting shared through
        `event[setting_id]` changes for every event sharing it. 422 `template_not_found` naming each unknown id."""
        org = current_org()
        setting = event_settings.update_event_setting(org, uuid_for(Event, org, event_id, "event"), data)
        return {"data": setting_v2(org, setting)}

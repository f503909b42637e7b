"""HTTP routes of the public_api_v2 plugin for Apple Wallet templates (003's `wallet_template_id` targets): CRUD
at `/wallet_templates` and their icon and logo, with numeric ids.

Thin views over `core.services.wallet_templates` and the core's schemas and view of a template
(`core.api.wallet_templates`), its `public_id` shown as `id`. No rule of its own.
"""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import fields

from core.api.event_schemas import EventListMeta
from core.api.wallet_templates import (
    IMAGE_DOC,
    LIST_ORDER,
    WalletTemplateBody,
    WalletTemplatePatch,
    WalletTemplateView,
    template_view,
    uploaded_image,
)
from core.api_schema import Schema
from core.auth import require_role
from core.kits.public_ids import uuid_for
from core.models import Org, WalletTemplate
from core.models.public_id import PUBLIC_ID_LIMIT
from core.pagination import DEFAULT_PAGE_SIZE, CursorPageQuery, page_body, paginate_cursor
from core.roles import MANAGERS, READERS
from core.services import wallet_templates as service
from core.tenancy import current_org
from plugins.public_api_v2.api import blp, numeric_id
from plugins.public_api_v2.views import configuration_v2

TEMPLATE_PATH = f"/wallet_templates/<int(min=1, max={PUBLIC_ID_LIMIT - 1}):wallet_template_id>"


class WalletTemplateV2(WalletTemplateView):
    """A wallet template with its numeric id as `id`."""

    id = numeric_id()

    class Meta:
        exclude = ("public_id",)


class WalletTemplateEnvelopeV2(Schema):
    """`{"data": <wallet template>}`."""

    data = fields.Nested(WalletTemplateV2)


class WalletTemplateListV2(Schema):
    """A page of wallet templates."""

    data = fields.List(fields.Nested(WalletTemplateV2))
    meta = fields.Nested(EventListMeta)


def template_v2(template: WalletTemplate) -> dict:
    """The core's view of a template, `public_id` shown as `id`."""
    return configuration_v2(template_view(template))


def template_uuid(org: Org, wallet_template_id: int) -> str:
    """The UUID of the tenant's template with this numeric id, or 404 `wallet_template_not_found`."""
    return uuid_for(WalletTemplate, org, wallet_template_id, "wallet_template")


@blp.route("/wallet_templates")
class WalletTemplateCollectionV2(MethodView):
    """Wallet templates, numeric ids."""

    @require_role(READERS, scope="read")
    @blp.arguments(CursorPageQuery, location="query")
    @blp.response(200, WalletTemplateListV2)
    def get(self, args: dict) -> dict:
        """Apple Wallet templates by name, `page[size]`/`page[cursor]`."""
        page = paginate_cursor(service.list_templates(current_org()), LIST_ORDER,
                               args.get("page_size", DEFAULT_PAGE_SIZE), args.get("page_cursor"))
        return page_body(page, template_v2)

    @require_role(MANAGERS, scope="events")
    @blp.arguments(WalletTemplateBody)
    @blp.response(201, WalletTemplateEnvelopeV2)
    def post(self, data: dict) -> dict:
        """Create a wallet template (the core's fields, rules and 422s); its `id` is what a ticket type's
        `wallet_template_id` takes."""
        return {"data": template_v2(service.create_template(current_org(), data))}


@blp.route(TEMPLATE_PATH)
class WalletTemplateItemV2(MethodView):
    """One wallet template by its numeric id."""

    @require_role(READERS, scope="read")
    @blp.response(200, WalletTemplateEnvelopeV2)
    def get(self, wallet_template_id: int) -> dict:
        """One wallet template by its numeric id (404 `wallet_template_not_found`, also for another tenant's)."""
        org = current_org()
        return {"data": template_v2(service.get_template(org, template_uuid(org, wallet_template_id)))}

    @require_role(MANAGERS, scope="events")
    @blp.arguments(WalletTemplatePatch)
    @blp.response(200, WalletTemplateEnvelopeV2)
    def patch(self, data: dict, wallet_template_id: int) -> dict:
        """Change some fields."""
        org = current_org()
        return {"data": template_v2(service.update_template(org, template_uuid(org, wallet_template_id), data))}

    @require_role(MANAGERS, scope="events")
    @blp.response(204)
    def delete(self, wallet_template_id: int) -> tuple[str, int]:
        """Delete a template no ticket type names (409 `wallet_template_in_use` otherwise)."""
        org = current_org()
        service.delete_template(org, template_uuid(org, wallet_template_id))
        return "", 204


@blp.route(f"{TEMPLATE_PATH}/<any(icon, logo):slot>")
class WalletTemplateImageV2(MethodView):
    """A wallet template's icon or logo, by its numeric id."""

    @require_role(MANAGERS, scope="events")
    @blp.doc(**IMAGE_DOC)
    @blp.response(200, WalletTemplateEnvelopeV2)
    def put(self, wallet_template_id: int, slot: str) -> dict:
        """Upload the template's icon or logo (multipart `image`, a PNG)."""
        org = current_org()
        image = uploaded_image()
        return {"data": template_v2(service.set_image(org, template_uuid(org, wallet_template_id), slot, image))}

    @require_role(MANAGERS, scope="events")
    @blp.response(200, WalletTemplateEnvelopeV2)
    def delete(self, wallet_template_id: int, slot: str) -> dict:
        """Remove the template's icon or logo."""
        org = current_org()
        return {"data": template_v2(service.remove_image(org, template_uuid(org, wallet_template_id), slot))}

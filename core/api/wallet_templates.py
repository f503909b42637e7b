"""Staff Apple Wallet setup: the tenant's pass templates (`/wallet-templates`, their icon and logo images) and its
pass-type certificate (`/wallet/certificate`, uploaded by an admin, never shown back).

Thin views: parse with the schemas below, call `core.services.wallet_templates` / `wallet_certificates`, render;
no rules here. The same schemas and view serve the public_api_v2 plugin's numeric-id routes.
"""

from __future__ import annotations

from typing import BinaryIO

from flask import request
from flask.views import MethodView
from marshmallow import fields, validate

from core.api.blueprint import Blueprint
from core.api.event_schemas import EventListMeta
from core.api.multipart import multipart_fields
from core.api_schema import Schema
from core.auth import require_role
from core.errors import INVALID_INPUT, Unprocessable
from core.models import WalletCertificate, WalletTemplate
from core.pagination import DEFAULT_PAGE_SIZE, CursorPageQuery, SortKey, page_body, paginate_cursor
from core.roles import ADMINS, MANAGERS, READERS
from core.services import wallet_certificates, wallet_templates
from core.services.wallet_certificates import MAX_PEM
from core.services.wallet_templates import MAX_IMAGE_BYTES, PASS_FIELDS, TEXT_LIMITS, ImageTooLarge
from core.tenancy import current_org
from core.timefmt import iso_utc

blp = Blueprint("wallet_templates", __name__,
                description="Apple Wallet (staff): pass templates and the pass-type certificate")

LIST_ORDER = [SortKey("name", WalletTemplate.name), SortKey("id", WalletTemplate.id)]
_COLOUR = "A colour as #rrggbb; null: Apple's default."
_FIELDS = f"Ticket facts in order, each at most once and not on both sides: {', '.join(PASS_FIELDS)}."


def _text(name: str, **kwargs) -> fields.String:
    return fields.String(validate=validate.Length(max=TEXT_LIMITS[name]), **kwargs)


class WalletTemplateBody(Schema):
    """A wallet template's fields (all but `name` optional; the service checks colours and field lists)."""

    name = fields.String(required=True, validate=validate.Length(min=1, max=TEXT_LIMITS["name"]))
    organization_name = _text("organization_name", metadata={
        "description": "Shown as the pass's organisation (lock screen, notifications); empty: the "
                       "organisation's name."})
    description = _text("description", metadata={
        "description": "The pass's accessibility description; empty: 'Ticket for <event>'."})
    logo_text = _text("logo_text", metadata={"description": "Text beside the logo."})
    foreground_color = fields.String(allow_none=True, validate=validate.Length(max=7),
                                     metadata={"description": _COLOUR})
    background_color = fields.String(allow_none=True, validate=validate.Length(max=7),
                                     metadata={"description": _COLOUR})
    label_color = fields.String(allow_none=True, validate=validate.Length(max=7), metadata={"description": _COLOUR})
    front_fields = fields.List(fields.String(validate=validate.OneOf(PASS_FIELDS)), validate=validate.Length(max=5),
                               metadata={"description": f"{_FIELDS} The first is the primary field, the next two "
                                                        "secondary, the rest auxiliary."})
    back_fields = fields.List(fields.String(validate=validate.OneOf(PASS_FIELDS)), validate=validate.Length(max=5),
                              metadata={"description": _FIELDS})
    is_default = fields.Boolean(metadata={
        "description": "The template tickets use when their ticket configuration names none (one per "
                       "organisation: setting it unsets the previous default)."})

    class Meta:
        ordered = True


class WalletTemplatePatch(WalletTemplateBody):
    """Any subset of a template's fields."""

    name = fields.String(validate=validate.Length(min=1, max=TEXT_LIMITS["name"]))


class ImageSizeView(Schema):
    """A rendition's pixel size."""

    width = fields.Integer()
    height = fields.Integer()


class WalletImageView(Schema):
    """An uploaded image's PNG renditions at Apple's 1x and 2x sizes."""

    renditions = fields.Dict(keys=fields.String(), values=fields.Nested(ImageSizeView))


class WalletTemplateView(Schema):
    """A wallet template."""

    id = fields.String()
    public_id = fields.Integer(metadata={"column": "bigint", "description": "Stable numeric id (a ticket "
                                                                            "configuration's wallet_template_id)."})
    name = fields.String()
    organization_name = fields.String()
    description = fields.String()
    logo_text = fields.String()
    foreground_color = fields.String(allow_none=True)
    background_color = fields.String(allow_none=True)
    label_color = fields.String(allow_none=True)
    front_fields = fields.List(fields.String())
    back_fields = fields.List(fields.String())
    is_default = fields.Boolean()
    icon = fields.Nested(WalletImageView, allow_none=True)
    logo = fields.Nested(WalletImageView, allow_none=True)
    created_at = fields.String()
    updated_at = fields.String()


class WalletTemplateEnvelope(Schema):
    """`{"data": <wallet template>}`."""

    data = fields.Nested(WalletTemplateView)


class WalletTemplatePage(Schema):
    """A cursor page of wallet templates."""

    data = fields.List(fields.Nested(WalletTemplateView))
    meta = fields.Nested(EventListMeta)


def _image_view(record: dict | None) -> dict | None:
    if not record:
        return None
    return {"renditions": {scale: {"width": r["width"], "height": r["height"]}
                           for scale, r in (record.get("renditions") or {}).items()}}


def template_view(template: WalletTemplate) -> dict:
    """The JSON form of a wallet template (images as their sizes; storage keys are not shown)."""
    view = {name: getattr(template, name) for name in wallet_templates.TEMPLATE_FIELDS}
    view.update({"id": template.id, "public_id": template.public_id, "icon": _image_view(template.icon),
                 "logo": _image_view(template.logo), "created_at": iso_utc(template.created_at),
                 "updated_at": iso_utc(template.updated_at)})
    return view


IMAGE_DOC = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["image"], "properties": {"image": {
        "type": "string", "format": "binary",
        "description": f"A PNG of at most {MAX_IMAGE_BYTES:,} bytes; stored at Apple's 1x and 2x sizes."}}}}}}}


def uploaded_image() -> BinaryIO:
    """The `image` part of a multipart body (the only part taken), the body refused before it is read when it is
    too large (`core.api.multipart`): 413 `file_too_large`, 422 `validation_error` when it is missing or other
    parts are sent."""
    if request.mimetype != "multipart/form-data":
        raise Unprocessable(INVALID_INPUT, type="validation_error",
                            errors={"form": {"image": ["Send the image as multipart/form-data."]}})
    fields, upload = multipart_fields("", "image", MAX_IMAGE_BYTES,
                                      ImageTooLarge(f"A wallet image can be at most {MAX_IMAGE_BYTES:,} bytes."))
    if fields or upload is None:
        errors = {key: ["Unknown field."] for key in fields} or {"image": ["Missing data for required field."]}
        raise Unprocessable(INVALID_INPUT, type="validation_error", errors={"form": errors})
    return upload.stream


@blp.route("/wallet-templates")
class WalletTemplateCollection(MethodView):
    """The organisation's wallet templates."""

    @require_role(READERS, scope="read")
    @blp.arguments(CursorPageQuery, location="query")
    @blp.response(200, WalletTemplatePage)
    def get(self, args: dict) -> dict:
        """The organisation's Apple Wallet templates by name, cursor-paginated."""
        page = paginate_cursor(wallet_templates.list_templates(current_org()), LIST_ORDER,
                               args.get("page_size", DEFAULT_PAGE_SIZE), args.get("page_cursor"))
        return page_body(page, template_view)

    @require_role(MANAGERS, scope="events")
    @blp.arguments(WalletTemplateBody)
    @blp.response(201, WalletTemplateEnvelope)
    @blp.error_responses({422: "`invalid_wallet_template` (a colour or field list), `validation_error`"})
    def post(self, data: dict) -> dict:
        """Create a wallet template (422 `invalid_wallet_template` naming each bad field)."""
        return {"data": template_view(wallet_templates.create_template(current_org(), data))}


@blp.route("/wallet-templates/<template_id>")
class WalletTemplateItem(MethodView):
    """One wallet template."""

    @require_role(READERS, scope="read")
    @blp.response(200, WalletTemplateEnvelope)
    def get(self, template_id: str) -> dict:
        """One wallet template (404 `wallet_template_not_found`, also for another organisation's)."""
        return {"data": template_view(wallet_templates.get_template(current_org(), template_id))}

    @require_role(MANAGERS, scope="events")
    @blp.arguments(WalletTemplatePatch)
    @blp.response(200, WalletTemplateEnvelope)
    def patch(self, data: dict, template_id: str) -> dict:
        """Change the fields sent; passes downloaded from now on show the change."""
        return {"data": template_view(wallet_templates.update_template(current_org(), template_id, data))}

    @require_role(MANAGERS, scope="events")
    @blp.response(204)
    @blp.error_responses({409: "`wallet_template_in_use`: a ticket configuration names it"})
    def delete(self, template_id: str) -> tuple[str, int]:
        """Delete a template no ticket configuration names (409 `wallet_template_in_use` otherwise)."""
        wallet_templates.delete_template(current_org(), template_id)
        return "", 204


@blp.route("/wallet-templates/<template_id>/<any(icon, logo):slot>")
class WalletTemplateImage(MethodView):
    """A wallet template's icon or logo."""

    @require_role(MANAGERS, scope="events")
    @blp.doc(**IMAGE_DOC)
    @blp.response(200, WalletTemplateEnvelope)
    @blp.error_responses({413: "`file_too_large`", 415: "`not_an_image`, `unsupported_image_format` (not a PNG)",
                          422: "`corrupt_image`, `validation_error`"})
    def put(self, template_id: str, slot: str) -> dict:
        """Upload the template's icon (shown on the lock screen and in notifications; without one a generated
        icon is used) or logo (top left of the pass): a PNG, stored re-encoded at Apple's sizes."""
        image = uploaded_image()
        return {"data": template_view(wallet_templates.set_image(current_org(), template_id, slot, image))}

    @require_role(MANAGERS, scope="events")
    @blp.response(200, WalletTemplateEnvelope)
    def delete(self, template_id: str, slot: str) -> dict:
        """Remove the template's icon or logo."""
        return {"data": template_view(wallet_templates.remove_image(current_org(), template_id, slot))}


# --- the pass-type certificate ------------------------------------------------------------------------------

def _pem(description: str, required: bool = True) -> fields.String:
    return fields.String(required=required, validate=validate.Length(min=1, max=MAX_PEM),
                         metadata={"description": description})


class WalletCertificateBody(Schema):
    """What Apple's developer portal gives for a pass type ID (PEM texts)."""

    certificate = _pem("The pass type ID certificate (PEM).")
    privateKey = _pem("Its private key (PEM; PKCS#8 or traditional, RSA or EC), encrypted or not.")
    password = fields.String(allow_none=True, validate=validate.Length(max=1024),
                             metadata={"description": "The private key's password, when it is encrypted."})
    wwdrCertificate = _pem("Apple's WWDR intermediate certificate that issued it (PEM).")
    passTypeIdentifier = fields.String(required=True, validate=validate.Length(min=1, max=200),
                                       metadata={"description": "e.g. pass.com.example.tickets"})
    teamIdentifier = fields.String(required=True, validate=validate.Length(min=1, max=20),
                                   metadata={"description": "The 10-character Apple team identifier."})


class WalletCertificateView(Schema):
    """What is shown of the configured certificate (never its key, password or PEM)."""

    passTypeIdentifier = fields.String()
    teamIdentifier = fields.String()
    subject = fields.String()
    fingerprint = fields.String(metadata={"description": "SHA-256 of the certificate (hex)."})
    notAfter = fields.String(metadata={"description": "When the certificate expires (UTC)."})
    wwdrSubject = fields.String()
    updatedAt = fields.String()


def certificate_view(row: WalletCertificate) -> dict:
    """The public facts of the tenant's pass certificate."""
    return {"passTypeIdentifier": row.pass_type_identifier, "teamIdentifier": row.team_identifier,
            "subject": row.subject, "fingerprint": row.fingerprint, "notAfter": iso_utc(row.not_after),
            "wwdrSubject": row.wwdr_subject, "updatedAt": iso_utc(row.updated_at)}


CERTIFICATE_ERRORS = {422: "`invalid_certificate`, `invalid_private_key`, `certificate_key_mismatch`, "
                           "`certificate_expired`, `certificate_not_yet_valid`, `certificate_not_issued_by_wwdr`, "
                           "`certificate_identifier_mismatch`, `validation_error`"}


@blp.route("/wallet/certificate")
class WalletCertificateResource(MethodView):
    """The organisation's pass type certificate."""

    @require_role(READERS, scope="read")
    @blp.response(200, WalletCertificateView)
    @blp.error_responses({409: "`wallet_not_configured`"})
    def get(self) -> dict:
        """The configured pass certificate's identifiers, subject, fingerprint and expiry (409
        `wallet_not_configured` when none); its key and PEM are never shown."""
        return certificate_view(wallet_certificates.current(current_org()))

    @require_role(ADMINS, scope="admin")
    @blp.arguments(WalletCertificateBody)
    @blp.response(200, WalletCertificateView)
    @blp.error_responses(CERTIFICATE_ERRORS)
    def put(self, data: dict) -> dict:
        """Upload the pass type certificate, its key (and password) and Apple's WWDR certificate (admin only);
        checked before it replaces the one before, stored encrypted."""
        return certificate_view(wallet_certificates.configure(current_org(), data))

    @require_role(ADMINS, scope="admin")
    @blp.response(204)
    @blp.error_responses({409: "`wallet_not_configured`"})
    def delete(self) -> tuple[str, int]:
        """Remove the pass certificate: passes can no longer be downloaded until one is uploaded again."""
        wallet_certificates.remove(current_org())
        return "", 204

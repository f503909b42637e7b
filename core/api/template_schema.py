"""The API shape of templates (PDF ticket designs, ticket e-mail templates, tally templates) and event settings:
bodies (JSON, bare or wrapped as `{"template": {...}}`, or multipart with `template[...]` keys and a PDF design's
`template[background]` image), their JSON views, and the request parsing the core's views and plugins share.

Parses and renders already-loaded rows only; never queries and never writes. What a value may be (placeholders,
colours, block names) is checked by `core.services.templates`, which these docs name.
"""

from __future__ import annotations

from marshmallow import fields, pre_load
from werkzeug.datastructures import FileStorage

from core.api.multipart import load_body
from core.api_schema import Schema
from core.errors import INVALID_INPUT, Unprocessable
from core.kits.pdf import PAGE_SIZES
from core.models import EventSetting, Template
from core.services.event_lists import ImageTooLarge
from core.services.templates import (
    EMAIL_PLACEHOLDERS,
    MAX_BACKGROUND_BYTES,
    PDF_BLOCKS,
    PDF_PLACEHOLDERS,
    TALLY_COLUMNS,
    TALLY_PLACEHOLDERS,
)
from core.timefmt import iso_utc

BACKGROUND_FIELD = "template[background]"
_BACKGROUND_JSON = ("A background image is uploaded as the multipart/form-data field `template[background]` (JPEG or "
                    "non-interlaced PNG); in JSON only `null` is accepted, which removes it.")


def _names(placeholders) -> str:
    return ", ".join(f"{{{name}}}" for name in placeholders)


class NameList(fields.List):
    """A list of names; in a multipart form, one comma-separated text."""

    def __init__(self, **kwargs):
        super().__init__(fields.String(), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        return super()._deserialize(value, attr, data, **kwargs)


class _Unwrapped(Schema):
    @pre_load
    def _unwrap(self, data, **kwargs):
        if isinstance(data, dict) and set(data) == {"template"} and isinstance(data["template"], dict):
            return data["template"]
        return data


class PdfTemplateBody(_Unwrapped):
    """A PDF ticket design (every layout field optional: the built-in layout's value)."""

    name = fields.String(required=True)
    title = fields.String(metadata={"description": f"Title line; placeholders {_names(PDF_PLACEHOLDERS)}. "
                                                   "Default `{event}`."})
    blocks = NameList(metadata={"description": f"What the ticket shows, in order: any of {', '.join(PDF_BLOCKS)} "
                                               "(default: all, in that order). A void ticket never shows its QR."})
    text_color = fields.String(metadata={"description": "#RRGGBB (default #212121)."})
    accent_color = fields.String(metadata={"description": "#RRGGBB of the title (default #212121)."})
    font_size = fields.Integer(metadata={"description": "Body text size in points, 7..16 (default 10)."})
    title_size = fields.Integer(metadata={"description": "Title size in points, 10..32 (default 18)."})
    footer = fields.String(metadata={"description": f"Footer line; placeholders {_names(PDF_PLACEHOLDERS)}."})
    page_size = fields.String(metadata={"enum": list(PAGE_SIZES), "description": "Default A5."})
    background = fields.Raw(allow_none=True, metadata={"description": _BACKGROUND_JSON})


class PdfTemplatePatch(PdfTemplateBody):
    """Any subset of a PDF design's fields."""

    name = fields.String()


class EmailTemplateBody(_Unwrapped):
    """A ticket e-mail template: subject and plain-text body with named placeholders."""

    name = fields.String(required=True)
    subject = fields.String(metadata={"description": f"Placeholders: {_names(EMAIL_PLACEHOLDERS)} (default "
                                                     "`Your tickets for {event_name}`)."})
    body = fields.String(required=True, metadata={
        "description": "Plain text; placeholders: " + "; ".join(f"{{{name}}} {text}"
                                                              for name, text in EMAIL_PLACEHOLDERS.items())
                       + " An unknown placeholder is a 422; write a literal brace as {{ or }}."})


class EmailTemplatePatch(EmailTemplateBody):
    """Any subset of an e-mail template's fields."""

    name = fields.String()
    body = fields.String()


class TallyTemplateBody(_Unwrapped):
    """A door tally sheet layout."""

    name = fields.String(required=True)
    title = fields.String(metadata={"description": f"Header; placeholders {_names(TALLY_PLACEHOLDERS)}."})
    subtitle = fields.String(metadata={"description": "Second header line (default `{when}`)."})
    footer = fields.String(metadata={"description": "Footer of each page (default `Printed {printed_at}`)."})
    columns = NameList(metadata={"description": f"Columns per ticket type, in order: any of "
                                                f"{', '.join(TALLY_COLUMNS)} (ticket_type required; default all)."})
    boxes = fields.Integer(metadata={"description": "Empty boxes per ticket type to tally by hand, 0..60 "
                                                    "(default 20)."})


class TallyTemplatePatch(TallyTemplateBody):
    """Any subset of a tally template's fields."""

    name = fields.String()


class PreviewBody(Schema):
    """What to preview a ticket e-mail template with."""

    bookingId = fields.String(allow_none=True, metadata={
        "description": "A booking of yours whose data fills the placeholders; absent or null: sample data."})


class SettingBody(Schema):
    """003 `setting[...]`: the templates an event uses, by numeric id (null: the built-in one), bare or wrapped
    as `{"setting": {...}}`."""

    pdf_template_id = fields.Integer(allow_none=True, metadata={"column": "bigint",
                                                                "description": "A PDF ticket design."})
    wallet_template_id = fields.Integer(allow_none=True, metadata={
        "column": "bigint", "description": "An Apple Wallet pass template (kept as sent: not checked yet)."})
    ticket_email_template_id = fields.Integer(allow_none=True, metadata={
        "column": "bigint", "description": "The e-mail template of ticket delivery."})
    tally_template_id = fields.Integer(allow_none=True, metadata={"column": "bigint",
                                                                  "description": "The door tally template."})

    @pre_load
    def _unwrap(self, data, **kwargs):
        if isinstance(data, dict) and set(data) == {"setting"} and isinstance(data["setting"], dict):
            return data["setting"]
        return data


# --- request parsing (core views and plugins) ---------------------------------------------------------

def template_input(schema: Schema) -> tuple[dict, FileStorage | None, bool]:
    """The loaded template fields of this request (JSON or multipart), the uploaded background (multipart only)
    and whether JSON asked to remove the background (`"background": null`)."""
    too_large = ImageTooLarge(f"A background image can be at most {MAX_BACKGROUND_BYTES:,} bytes.")
    data, upload, location = load_body(schema, "template", "background", MAX_BACKGROUND_BYTES, too_large,
                                       "template")
    remove = "background" in data
    if remove and data.pop("background") is not None:
        raise Unprocessable(INVALID_INPUT, type="validation_error",
                            errors={location: {"background": [_BACKGROUND_JSON]}})
    return data, upload, remove


def body_doc(schema: type[Schema], required: bool, pdf: bool) -> dict:
    """The OpenAPI request body of a template create (`required`) or update: JSON, and multipart for a PDF
    design (its fields as `template[...]`, lists comma-separated, and the `template[background]` file)."""
    content: dict = {"application/json": {"schema": schema}}
    if pdf:
        properties = {f"template[{name}]": {"type": "string"} for name in schema._declared_fields
                      if name != "background"}
        properties[BACKGROUND_FIELD] = {"type": "string", "format": "binary",
                                        "description": "JPEG or non-interlaced PNG, stretched over the page."}
        form = {"type": "object", "properties": properties}
        content["multipart/form-data"] = {"schema": {**form, "required": ["template[name]"]} if required else form}
    return {"requestBody": {"required": True, "content": content}}


# --- output --------------------------------------------------------------------------------------------

def background_url(row: Template) -> str:
    """Where staff fetch a PDF design's background image."""
    return f"/pdf-templates/{row.id}/background"


def template_view(row: Template) -> dict:
    """The JSON form of a template of any kind: id, numeric `public_id`, name and its kind's fields."""
    view = {"id": row.id, "public_id": row.public_id, "name": row.name,
            "created_at": iso_utc(row.created_at), "updated_at": iso_utc(row.updated_at)}
    if row.kind == "email":
        view.update(subject=row.subject, body=row.body)
    else:
        view.update(row.layout)
    if row.kind == "pdf":
        record = row.background
        view["background"] = None if not record else {
            "url": background_url(row), "content_type": record["content_type"], "width": record["width"],
            "height": record["height"]}
    return view


def setting_view(row: EventSetting | None, events: int = 0) -> dict:
    """The JSON form of an event setting (None: an event that names none, all built-ins) and how many events
    share it."""
    names = ("pdf_template_id", "wallet_template_id", "ticket_email_template_id", "tally_template_id")
    if row is None:
        return {"id": None, "public_id": None, **dict.fromkeys(names), "event_count": 0}
    return {"id": row.id, "public_id": row.public_id, **{name: getattr(row, name) for name in names},
            "event_count": events, "created_at": iso_utc(row.created_at), "updated_at": iso_utc(row.updated_at)}


def _template_fields() -> dict:
    return {"id": fields.String(), "public_id": fields.Integer(metadata={
        "column": "bigint", "description": "Stable numeric id: what ticket types and event settings name."}),
        "name": fields.String(), "created_at": fields.String(), "updated_at": fields.String()}


class BackgroundView(Schema):
    """A PDF design's background image."""

    url = fields.String()
    content_type = fields.String(metadata={"enum": ["image/jpeg", "image/png"]})
    width = fields.Integer()
    height = fields.Integer()


PdfTemplateView = Schema.from_dict({
    **_template_fields(), "title": fields.String(), "blocks": fields.List(fields.String()),
    "text_color": fields.String(), "accent_color": fields.String(), "font_size": fields.Integer(),
    "title_size": fields.Integer(), "footer": fields.String(), "page_size": fields.String(),
    "background": fields.Nested(BackgroundView, allow_none=True)}, name="PdfTemplateView")
EmailTemplateView = Schema.from_dict({**_template_fields(), "subject": fields.String(), "body": fields.String()},
                                     name="EmailTemplateView")
TallyTemplateView = Schema.from_dict({
    **_template_fields(), "title": fields.String(), "subtitle": fields.String(), "footer": fields.String(),
    "columns": fields.List(fields.String()), "boxes": fields.Integer()}, name="TallyTemplateView")


class RenderedEmailView(Schema):
    """A ticket e-mail template rendered."""

    subject = fields.String()
    body = fields.String()


class SettingView(Schema):
    """An event setting: the templates its events use (numeric ids; null: built-in)."""

    id = fields.String(allow_none=True, metadata={"description": "null: the event names no setting yet."})
    public_id = fields.Integer(allow_none=True, metadata={"column": "bigint"})
    pdf_template_id = fields.Integer(allow_none=True, metadata={"column": "bigint"})
    wallet_template_id = fields.Integer(allow_none=True, metadata={"column": "bigint"})
    ticket_email_template_id = fields.Integer(allow_none=True, metadata={"column": "bigint"})
    tally_template_id = fields.Integer(allow_none=True, metadata={"column": "bigint"})
    event_count = fields.Integer(metadata={"description": "How many events share this setting (a PATCH changes "
                                                          "it for all of them)."})
    created_at = fields.String()
    updated_at = fields.String()

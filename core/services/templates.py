"""Templates (003's PDF ticket designs, ticket e-mail templates and door tally sheets): create, change, delete,
the background image of a PDF design, the named placeholders their texts may use, and the lookups by numeric
id that ticket configurations and event settings make.

Knows nothing of HTTP. Never saves a text with a placeholder outside its documented set (a `str.format`
field with attributes, indexes or conversions is refused too, so rendering can only substitute values), never
keeps an image it did not re-encode through the image kit, and never deletes a template a ticket configuration
or an event setting names (409 `template_in_use`).
"""

from __future__ import annotations

import contextlib
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from core.config import current_config
from core.db import after_commit, write_transaction
from core.errors import Conflict, NotFound, Unprocessable
from core.kits import images
from core.kits.pdf import PAGE_SIZES
from core.kits.public_ids import is_public_id
from core.kits.storage import MediaStorage, storage_for
from core.models import EventSetting, Org, Template, TicketConfiguration, new_id
from core.models.templates import TEMPLATE_KINDS
from core.pagination import SortKey, paginate_cursor
from core.services.event_lists import refuse_oversized
from core.tenancy import get_scoped, scoped

MAX_NAME = 200
MAX_SUBJECT = 300
MAX_TEXT = 20000
MAX_LINE = 500
MAX_BACKGROUND_BYTES = 10 * 1024 * 1024
BACKGROUND_FORMATS = ("JPEG", "PNG")

# --- what each kind holds ------------------------------------------------------------------------------

# The blocks a PDF ticket design may show, in the built-in order (`core.services.ticket_pdf` lays them out).
PDF_BLOCKS = ("when", "where", "holder", "ticket_type", "seats", "list", "list_description", "qr", "barcode",
              "ticket_id")
# Placeholders of a PDF design's title and footer, and of a tally sheet's title and footer.
PDF_PLACEHOLDERS = ("organiser", "event", "when", "where", "holder", "ticket_type", "seats", "ticket_id", "list")
TALLY_PLACEHOLDERS = ("organiser", "event", "when", "where", "printed_at")
# The columns a tally sheet may print per ticket type, in the built-in order (`core.services.tally`).
TALLY_COLUMNS = ("ticket_type", "price", "capacity", "sold", "checked_in", "remaining")
# Placeholders of a ticket e-mail's subject and body (`ticket_email_values` fills them).
EMAIL_PLACEHOLDERS = {
    "organiser": "The organisation's name.",
    "event_name": "The event's name.",
    "event_when": "When it starts, in the event's time zone.",
    "event_where": "The venue's name and address, on one line.",
    "recipient_name": "The name of the person the e-mail goes to (the buyer).",
    "holder_name": "The first ticket's holder name, else the recipient's name.",
    "order_reference": "The booking's id (empty for tickets issued without a booking).",
    "ticket_count": "How many tickets the e-mail carries.",
    "ticket_list": "One line per ticket: its type, seats and holder.",
    "ticket_links": "One line per ticket: its type and a link that downloads its PDF.",
}

LAYOUT_DEFAULTS = {
    "pdf": {"title": "{event}", "blocks": list(PDF_BLOCKS), "text_color": "#212121", "accent_color": "#212121",
            "font_size": 10, "title_size": 18, "footer": "", "page_size": "A5"},
    "tally": {"title": "Door tally: {event}", "subtitle": "{when}", "footer": "Printed {printed_at}",
              "columns": list(TALLY_COLUMNS), "boxes": 20},
    "email": {},
}
FONT_SIZES = (7, 16)
TITLE_SIZES = (10, 32)
MAX_BOXES = 60
EMAIL_DEFAULT_SUBJECT = "Your tickets for {event_name}"
REFERENCE_FIELDS = {"pdf": "pdf_template_id", "email": "ticket_email_template_id", "tally": "tally_template_id"}


def _invalid(errors: dict, kind: str) -> Unprocessable:
    return Unprocessable(f"The {label(kind)} is invalid; see `errors`.", type="invalid_template", errors=errors)


def label(kind: str) -> str:
    """A kind as people say it: `pdf` -> "PDF ticket design"."""
    return {"pdf": "PDF ticket design", "email": "ticket e-mail template", "tally": "tally template"}[kind]


# --- placeholders --------------------------------------------------------------------------------------

def placeholder_errors(text: str, allowed: Iterable[str]) -> list[str]:
    """What is wrong with the `{name}` placeholders of `text` (empty: nothing): names outside `allowed`, and any
    attribute, index, conversion or format spec (`{a.b}`, `{a[0]}`, `{a!r}`, `{a:>9}`); `{{`/`}}` are braces."""
    allowed = set(allowed)
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        return [f"Unbalanced braces ({exc}); write a literal brace as {{{{ or }}}}."]
    problems = []
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        if name not in allowed:
            problems.append(f"Unknown placeholder {{{name}}}; use one of: "
                            + ", ".join(f"{{{n}}}" for n in sorted(allowed)) + ".")
        elif spec or conversion:
            problems.append(f"{{{name}}} takes no format spec or conversion.")
    return problems


def fill(text: str, values: Mapping[str, object]) -> str:
    """`text` with its placeholders replaced by `values` (a text saved through this module: names checked)."""
    return text.format_map({name: "" if value is None else value for name, value in values.items()})


# --- validation ----------------------------------------------------------------------------------------

def _check_text(errors: dict, field: str, value, limit: int, allowed: Iterable[str] | None = None) -> None:
    if not isinstance(value, str) or "\x00" in value or len(value) > limit:
        errors[field] = [f"Must be text of at most {limit} characters."]
        return
    if allowed is not None:
        problems = placeholder_errors(value, allowed)
        if problems:
            errors[field] = problems


def _check_choice_list(errors: dict, field: str, value, choices: tuple[str, ...]) -> None:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        errors[field] = ["Must be a list of names."]
        return
    unknown = sorted(set(value) - set(choices))
    if unknown or len(set(value)) != len(value):
        errors[field] = [f"Use each of {', '.join(choices)} at most once" + (f"; unknown: {', '.join(unknown)}."
                                                                             if unknown else ".")]


def _check_color(errors: dict, field: str, value) -> None:
    text = value[1:] if isinstance(value, str) and value.startswith("#") else ""
    if len(text) != 6 or any(c not in string.hexdigits for c in text):
        errors[field] = ["Must be a colour as #RRGGBB."]


def _check_int(errors: dict, field: str, value, low: int, high: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        errors[field] = [f"Must be a whole number from {low} to {high}."]


def _layout_errors(kind: str, layout: dict) -> dict:
    errors: dict = {}
    if kind == "pdf":
        _check_text(errors, "title", layout["title"], MAX_LINE, PDF_PLACEHOLDERS)
        _check_text(errors, "footer", layout["footer"], MAX_LINE, PDF_PLACEHOLDERS)
        _check_choice_list(errors, "blocks", layout["blocks"], PDF_BLOCKS)
        _check_color(errors, "text_color", layout["text_color"])
        _check_color(errors, "accent_color", layout["accent_color"])
        _check_int(errors, "font_size", layout["font_size"], *FONT_SIZES)
        _check_int(errors, "title_size", layout["title_size"], *TITLE_SIZES)
        if layout["page_size"] not in PAGE_SIZES:
            errors["page_size"] = [f"Must be one of {', '.join(PAGE_SIZES)}."]
    elif kind == "tally":
        for field in ("title", "subtitle", "footer"):
            _check_text(errors, field, layout[field], MAX_LINE, TALLY_PLACEHOLDERS)
        _check_choice_list(errors, "columns", layout["columns"], TALLY_COLUMNS)
        if not errors.get("columns") and "ticket_type" not in layout["columns"]:
            errors["columns"] = ["Must include ticket_type (a row says which ticket type it counts)."]
        _check_int(errors, "boxes", layout["boxes"], 0, MAX_BOXES)
    return errors


def _values(kind: str, data: dict, current: Template | None) -> dict:
    """Model values of a template of `kind` from the fields sent (all of them on create); 422
    `invalid_template` naming each field that is unknown, malformed or uses an unknown placeholder."""
    layout_keys = set(LAYOUT_DEFAULTS[kind])
    allowed = {"name"} | layout_keys | ({"subject", "body"} if kind == "email" else set())
    errors: dict = {name: ["Unknown field."] for name in sorted(set(data) - allowed)}
    values: dict = {}
    if "name" in data or current is None:
        name = data.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME or "\x00" in name:
            errors["name"] = [f"Required: text of 1 to {MAX_NAME} characters."]
        else:
            values["name"] = name.strip()
    if kind == "email":
        if "subject" in data or current is None:
            values["subject"] = data.get("subject") or EMAIL_DEFAULT_SUBJECT
            _check_text(errors, "subject", values["subject"], MAX_SUBJECT, EMAIL_PLACEHOLDERS)
        if "body" in data or current is None:
            values["body"] = data.get("body")
            _check_text(errors, "body", values["body"], MAX_TEXT, EMAIL_PLACEHOLDERS)
            if not errors.get("body") and not values["body"].strip():
                errors["body"] = ["Must not be blank."]
    else:
        layout = {**LAYOUT_DEFAULTS[kind], **(current.layout if current is not None else {})}
        layout.update({k: v for k, v in data.items() if k in layout_keys})
        errors.update(_layout_errors(kind, layout))
        values["layout"] = layout
    if errors:
        raise _invalid(errors, kind)
    return values


# --- reading -------------------------------------------------------------------------------------------

TEMPLATE_ORDER = [SortKey("name", Template.name), SortKey("id", Template.id)]


def _kind(kind: str) -> str:
    if kind not in TEMPLATE_KINDS:
        raise ValueError(f"unknown template kind {kind!r}")
    return kind


def get_template(org: Org | str, kind: str, template_id) -> Template:
    """The tenant's template of `kind`, or 404 `template_not_found` (another tenant's or kind's too)."""
    found = get_scoped(Template, org, template_id if isinstance(template_id, str) and "\x00" not in template_id
                       else None, "template")
    if found.kind != _kind(kind):
        raise NotFound(f"No {label(kind)} with id {template_id!r}.", type="template_not_found")
    return found


def template_page(org: Org, kind: str, size: int, cursor: str | None):
    """A cursor page of the tenant's templates of `kind`, by name."""
    return paginate_cursor(scoped(Template, org).where(Template.kind == _kind(kind)), TEMPLATE_ORDER, size, cursor)


def templates_by_public_id(org: Org | str, references: Mapping[str, tuple[str, object]]) -> dict[str, Template]:
    """field -> the tenant's template that field names, for `references` = {field: (kind, public id)} (None
    values are skipped); one query. 422 `template_not_found` naming every field whose id is no template of
    this tenant of that kind."""
    wanted = {field: (kind, value) for field, (kind, value) in references.items() if value is not None}
    ids = sorted({value for _kind_, value in wanted.values() if is_public_id(value)})
    rows = {row.public_id: row for row in scoped(Template, org).where(Template.public_id.in_(ids))} if ids else {}
    found, errors = {}, {}
    for field, (kind, value) in wanted.items():
        row = rows.get(value) if is_public_id(value) else None
        if row is None or row.kind != kind:
            errors[field] = [f"No {label(kind)} of this organisation has id {value!r}."]
        else:
            found[field] = row
    if errors:
        raise Unprocessable("Some template ids name no template of this organisation; see `errors`.",
                            type="template_not_found", errors=errors)
    return found


def template_for(org: Org | str, kind: str, public_id: int | None) -> Template | None:
    """The tenant's template of `kind` with this numeric id, or None (for rendering: a template deleted since
    falls back to the built-in layout rather than failing a ticket)."""
    if not is_public_id(public_id):
        return None
    return scoped(Template, org).where((Template.public_id == public_id) & (Template.kind == kind)).first()


# --- writing -------------------------------------------------------------------------------------------

def create_template(org: Org, kind: str, data: dict, background: BinaryIO | None = None) -> Template:
    """A new template of `kind`; a PDF design may come with its background image."""
    row = Template(org=org, kind=_kind(kind), **_values(kind, data, None))
    return _save_with_background(org, row, background, insert=True)


def update_template(org: Org, kind: str, template_id: str, data: dict, background: BinaryIO | None = None,
                    remove_background: bool = False) -> Template:
    """Change the fields sent; a new background replaces the old one (whose file goes once the change
    commits), `remove_background` drops it. Events and ticket types using it follow at once."""
    row = get_template(org, kind, template_id)
    for name, value in _values(kind, data, row).items():
        setattr(row, name, value)
    return _save_with_background(org, row, background, insert=False, remove=remove_background)


def delete_template(org: Org, kind: str, template_id: str) -> None:
    """Delete a template no ticket configuration or event setting names; else 409 `template_in_use`."""
    row = get_template(org, kind, template_id)
    field = REFERENCE_FIELDS[kind]
    users = [scoped(EventSetting, org, EventSetting.id).where(getattr(EventSetting, field) == row.public_id)]
    if kind == "pdf":
        users.append(scoped(TicketConfiguration, org, TicketConfiguration.id).where(
            TicketConfiguration.pdf_template_id == row.public_id))
    with write_transaction():
        if any(query.exists() for query in users):
            raise Conflict(f"Event settings or ticket types use this {label(kind)}; choose another first.",
                           type="template_in_use")
        row.delete_instance()
        if row.background:
            _delete_file_after_commit(org.id, row.background["key"])


# --- the background image of a PDF design --------------------------------------------------------------

def template_storage(org_id: str) -> MediaStorage:
    """Where template images are kept: the deployment's default storage, `<data_dir>/media/<org>/templates/`."""
    return storage_for(org_id, {}, Path(current_config().data_path))


def _delete_file_after_commit(org_id: str, key: str) -> None:
    after_commit(lambda: template_storage(org_id).delete(key))


def _save_with_background(org: Org, row: Template, upload: BinaryIO | None, *, insert: bool,
                          remove: bool = False) -> Template:
    """Save `row`; with an upload (PDF designs only) first check and clean it (JPEG or non-interlaced PNG) into
    a staged file, commit the row, then move the file into place (nothing is left behind on any failure). The
    background it had (replaced, or dropped with `remove`) is deleted once the change commits."""
    storage = template_storage(org.id)
    replaced = row.background
    if remove:
        row.background = None
    with contextlib.ExitStack() as stack:
        staged = None
        if upload is not None:
            if row.kind != "pdf":
                raise _invalid({"background": ["Only a PDF ticket design has a background image."]}, row.kind)
            refuse_oversized(upload, MAX_BACKGROUND_BYTES, "A background image", "background")
            staged = stack.enter_context(storage.staging())
            clean = images.sanitize(upload, staged, formats=BACKGROUND_FORMATS, allow_interlaced=False)
            row.background = {"key": f"templates/{row.id}/{new_id()}.{clean.extension}",
                              "content_type": clean.content_type, "width": clean.width, "height": clean.height}
        with write_transaction():
            row.save(force_insert=insert)
            if replaced and row.background != replaced:
                _delete_file_after_commit(org.id, replaced["key"])
        if staged is not None:
            storage.promote(staged, row.background["key"])
    return row


def background_bytes(org_id: str, template: Template) -> bytes | None:
    """The stored background image of a PDF design, or None (none set, or its file is gone)."""
    if not template.background:
        return None
    try:
        with template_storage(org_id).open(template.background["key"]) as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def open_background(org_id: str, template_id: str) -> tuple[BinaryIO, str, str]:
    """The bytes of a PDF design's background, its content type and storage key; 404 `image_not_found` when
    the template (of this tenant) has none."""
    row = None
    if isinstance(template_id, str) and len(template_id) <= 64 and "\x00" not in template_id:
        row = scoped(Template, org_id).where(Template.id == template_id).first()
    record = row.background if row is not None else None
    try:
        if record:
            return template_storage(org_id).open(record["key"]), record["content_type"], record["key"]
    except FileNotFoundError:
        pass
    raise NotFound(f"No background image for template {template_id!r}.", type="image_not_found")


# --- ticket e-mails ------------------------------------------------------------------------------------

@dataclass
class RenderedEmail:
    """A ticket e-mail rendered from a tenant's template: its one-line subject and plain-text body."""

    subject: str
    body: str


SAMPLE_EMAIL_VALUES = {
    "organiser": "Sample Org", "event_name": "Sample Event", "event_when": "Sat 14 Mar 2026, 19:30 (UTC)",
    "event_where": "Main Hall, 1 Sample Street, Sampletown", "recipient_name": "Alex Sample",
    "holder_name": "Alex Sample", "order_reference": "00000000-0000-0000-0000-000000000000", "ticket_count": 2,
    "ticket_list": "General admission (1 seat): Alex Sample\nGeneral admission (1 seat): Sam Sample",
    "ticket_links": "General admission: https://tickets.example/tickets/pdf/sample-1\n"
                    "General admission: https://tickets.example/tickets/pdf/sample-2",
}


def render_email(template: Template, values: Mapping[str, object]) -> RenderedEmail:
    """The template's subject (one line, at most `MAX_SUBJECT` characters) and body filled from `values`
    (every name of `EMAIL_PLACEHOLDERS`: see `ticket_email_values`)."""
    subject = " ".join(fill(template.subject, values).split())[:MAX_SUBJECT]
    return RenderedEmail(subject, fill(template.body, values))

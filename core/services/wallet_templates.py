"""Apple Wallet templates: create, change and delete a tenant's pass designs, their icon and logo images, and
the tenant's default template (which one a ticket uses: `core.services.wallet_passes.template_for`).

Knows nothing of HTTP. Never keeps an image it did not re-encode through the image kit (PNG renditions at
Apple's sizes), never leaves two default templates, and never deletes a template a ticket configuration or an
event setting names.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import BinaryIO

from peewee import Select

from core.db import is_sqlite, write_transaction
from core.errors import ApiError, Conflict, NotFound, Unprocessable
from core.kits import images
from core.kits.public_ids import is_public_id
from core.kits.storage import MediaStorage
from core.models import EventSetting, Org, TicketConfiguration, WalletTemplate, new_id, utcnow
from core.services.event_lists import delete_files_after_commit, list_storage, stage_rendition, stream_size
from core.tenancy import get_scoped, scoped

PASS_FIELDS = ("event_name", "date", "venue", "holder", "ticket_type")
"""The ticket facts a pass can show, by name; a template places each on the front or the back (or nowhere)."""
DEFAULT_FRONT = ["event_name", "date", "venue"]
DEFAULT_BACK = ["holder", "ticket_type"]
TEXT_LIMITS = {"name": 200, "organization_name": 200, "description": 200, "logo_text": 100}
COLOURS = ("foreground_color", "background_color", "label_color")
TEMPLATE_FIELDS = (*TEXT_LIMITS, *COLOURS, "front_fields", "back_fields", "is_default")
_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
# Image slot -> its renditions (Apple's point sizes at 1x and 2x): the box each PNG is fitted into.
IMAGE_SLOTS = {"icon": {"1x": (29, 29), "2x": (58, 58)}, "logo": {"1x": (160, 50), "2x": (320, 100)}}
MAX_IMAGE_BYTES = 5 * 1024 * 1024


class ImageTooLarge(ApiError):
    """413: a wallet image over `MAX_IMAGE_BYTES`."""

    status, type = 413, "file_too_large"


def _invalid(errors: dict) -> Unprocessable:
    return Unprocessable("The wallet template is invalid; see `errors`.", type="invalid_wallet_template",
                         errors=errors)


def _text_error(name: str, value, *, required: bool) -> str | None:
    if not isinstance(value, str) or "\x00" in value or len(value) > TEXT_LIMITS[name]:
        return f"Must be a string of at most {TEXT_LIMITS[name]} characters, without NUL characters."
    return "Must not be blank." if required and not value.strip() else None


def _fields_error(value) -> str | None:
    if not isinstance(value, list) or any(item not in PASS_FIELDS for item in value):
        return f"Must be a list of: {', '.join(PASS_FIELDS)}."
    return "Each field at most once." if len(set(value)) != len(value) else None


def _checked(current: dict, changes: dict) -> dict:
    """`current` with `changes` applied, every value checked: texts, `#rrggbb` colours (null: Apple's
    default), field lists (known names, each once, never on both sides). 422 `invalid_wallet_template`."""
    errors = {name: ["Unknown field."] for name in sorted(set(changes) - set(TEMPLATE_FIELDS))}
    for name in TEXT_LIMITS:
        if name in changes and (message := _text_error(name, changes[name], required=name == "name")):
            errors[name] = [message]
    for name in COLOURS:
        value = changes.get(name)
        if value is not None and not (isinstance(value, str) and _COLOUR.fullmatch(value)):
            errors[name] = ["Must be a colour as #rrggbb, or null."]
    for name in ("front_fields", "back_fields"):
        if name in changes and (message := _fields_error(changes[name])):
            errors[name] = [message]
    if "is_default" in changes and not isinstance(changes["is_default"], bool):
        errors["is_default"] = ["Must be true or false."]
    if errors:
        raise _invalid(errors)
    values = {**current, **changes}
    both = sorted(set(values["front_fields"]) & set(values["back_fields"]))
    if both:
        raise _invalid({"back_fields": [f"Already on the front: {', '.join(both)}."]})
    return {**values, **{name: values[name].lower() for name in COLOURS if values[name]}}


def get_template(org: Org, template_id: str) -> WalletTemplate:
    """The tenant's wallet template, or 404 `wallet_template_not_found` (also for another tenant's)."""
    return get_scoped(WalletTemplate, org, template_id, "wallet_template")


def list_templates(org: Org) -> Select:
    """The tenant's wallet templates (the caller orders and pages them)."""
    return scoped(WalletTemplate, org)


def lock_wallet_changes(org: Org) -> None:
    """Inside a write transaction: serialise the tenant's changes of its default template and certificate
    (PostgreSQL locks the org row; SQLite's write transactions are serial already)."""
    if not is_sqlite():
        Org.select(Org.id).where(Org.id == org.id).for_update().execute()


def _only_default(org: Org, template: WalletTemplate) -> None:
    """Inside the write transaction that makes `template` the default: every other template stops being one
    (after `lock_wallet_changes`, so two concurrent changes of the default run one after another)."""
    lock_wallet_changes(org)
    WalletTemplate.update(is_default=False, updated_at=utcnow()).where(
        (WalletTemplate.org == org.id) & (WalletTemplate.id != template.id) & WalletTemplate.is_default).execute()


def _save(org: Org, template: WalletTemplate, *, insert: bool) -> WalletTemplate:
    with write_transaction():
        if template.is_default:
            _only_default(org, template)
        template.save(force_insert=insert)
    return template


def create_template(org: Org, fields: dict) -> WalletTemplate:
    """A new template (`name` required; the rest default to Apple's look, `DEFAULT_FRONT`/`DEFAULT_BACK`);
    `is_default` true makes it the tenant's default in the same transaction."""
    start = {"name": None, "organization_name": "", "description": "", "logo_text": "", "foreground_color": None,
             "background_color": None, "label_color": None, "front_fields": list(DEFAULT_FRONT),
             "back_fields": list(DEFAULT_BACK), "is_default": False}
    values = _checked(start, {"name": None, **fields})
    return _save(org, WalletTemplate(org=org, **values), insert=True)


def update_template(org: Org, template_id: str, fields: dict) -> WalletTemplate:
    """Change the fields sent; passes downloaded later show the change."""
    template = get_template(org, template_id)
    values = _checked({name: getattr(template, name) for name in TEMPLATE_FIELDS}, fields)
    for name, value in values.items():
        setattr(template, name, value)
    return _save(org, template, insert=False)


def delete_template(org: Org, template_id: str) -> None:
    """Delete a template no ticket configuration or event setting names (409 `wallet_template_in_use`
    otherwise); its image files go once the deletion commits."""
    template = get_template(org, template_id)
    with write_transaction():
        users = scoped(TicketConfiguration, org).where(
            TicketConfiguration.wallet_template_id == template.public_id).count()
        settings = scoped(EventSetting, org).where(EventSetting.wallet_template_id == template.public_id).count()
        if users or settings:
            raise Conflict(f"{users} ticket configuration(s) and {settings} event setting(s) use this wallet "
                           "template; point them at another one (or none) first.", type="wallet_template_in_use",
                           ticketConfigurations=users, eventSettings=settings)
        template.delete_instance()
        _delete_files_after_commit(org.id, [template.icon, template.logo])


def check_template_id(org: Org | str, public_id: int | None, field: str = "wallet_template_id") -> None:
    """For a ticket configuration's or an event setting's `wallet_template_id`: None, or the numeric id of one of
    the tenant's templates; else 422 `wallet_template_not_found` naming `field` (another tenant's is unknown
    too)."""
    if public_id is None:
        return
    found = is_public_id(public_id) and scoped(WalletTemplate, org, WalletTemplate.id).where(
        WalletTemplate.public_id == public_id).exists()
    if not found:
        raise Unprocessable(f"No wallet template with id {public_id!r} in this organisation.",
                            type="wallet_template_not_found",
                            errors={field: ["No such wallet template."]})


def template_by_public_id(org: Org | str, public_id: int | None) -> WalletTemplate | None:
    """The tenant's template with this numeric id (None for None or an id no template of the tenant has)."""
    if public_id is None or not is_public_id(public_id):
        return None
    return scoped(WalletTemplate, org).where(WalletTemplate.public_id == public_id).first()


def default_template(org: Org | str) -> WalletTemplate | None:
    """The tenant's default template, or None."""
    return scoped(WalletTemplate, org).where(WalletTemplate.is_default).order_by(WalletTemplate.id).first()


# --- images --------------------------------------------------------------------------------------------

def wallet_storage(org_id: str) -> MediaStorage:
    """Where wallet images are kept: the deployment's default local storage (`<data_dir>/media/<org>/wallet/`),
    the same one list images use."""
    return list_storage(org_id)


def _delete_files_after_commit(org_id: str, records: list[dict | None]) -> None:
    keys = [r["key"] for record in records if record for r in (record.get("renditions") or {}).values()]
    delete_files_after_commit(org_id, keys)


def set_image(org: Org, template_id: str, slot: str, image: BinaryIO) -> WalletTemplate:
    """Give the template its `slot` image ("icon" or "logo"): a whole PNG (415 otherwise, through the image
    kit), re-encoded without metadata into Apple's 1x and 2x sizes (`IMAGE_SLOTS`); the old files go once the
    change commits, the new ones are in place before the answer."""
    if slot not in IMAGE_SLOTS:
        raise NotFound(f"No wallet image slot {slot!r}.", type="not_found")
    template = get_template(org, template_id)
    if stream_size(image) > MAX_IMAGE_BYTES:
        raise ImageTooLarge(f"A wallet image can be at most {MAX_IMAGE_BYTES:,} bytes.",
                            errors={"image": [f"max {MAX_IMAGE_BYTES} bytes"]})
    storage = wallet_storage(org.id)
    base = f"wallet/{template.id}/{new_id()}.{slot}"
    staged: list[tuple[Path, str]] = []
    try:
        with storage.staging() as original:
            images.sanitize(image, original, formats=("PNG",))
            record: dict = {"renditions": {}}
            for scale, (width, height) in IMAGE_SLOTS[slot].items():
                kept, made_width, made_height = stage_rendition(storage, original, functools.partial(
                    images.make_png_rendition, max_width=width, max_height=height))
                key = f"{base}@{scale}.png"
                staged.append((kept, key))
                record["renditions"][scale] = {"key": key, "width": made_width, "height": made_height}
        old = getattr(template, slot)
        setattr(template, slot, record)
        with write_transaction():
            template.save()
            _delete_files_after_commit(org.id, [old])
        for path, key in staged:
            storage.promote(path, key)
    finally:
        for path, _key in staged:
            path.unlink(missing_ok=True)
    return template


def remove_image(org: Org, template_id: str, slot: str) -> WalletTemplate:
    """Drop the template's `slot` image (passes then use the generated default icon, or no logo)."""
    if slot not in IMAGE_SLOTS:
        raise NotFound(f"No wallet image slot {slot!r}.", type="not_found")
    template = get_template(org, template_id)
    old = getattr(template, slot)
    setattr(template, slot, None)
    with write_transaction():
        template.save()
        _delete_files_after_commit(org.id, [old])
    return template


def image_files(org_id: str, record: dict | None, name: str) -> dict[str, bytes]:
    """The stored renditions of an image record as pass files (`icon.png`, `icon@2x.png`...); empty when the
    record is null or its files are gone."""
    files = {}
    storage = wallet_storage(org_id)
    for scale, rendition in ((record or {}).get("renditions") or {}).items():
        try:
            with storage.open(rendition["key"]) as handle:
                files[f"{name}.png" if scale == "1x" else f"{name}@{scale}.png"] = handle.read()
        except FileNotFoundError:
            continue
    return files

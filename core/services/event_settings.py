"""Event settings (003's `PATCH /events/{id}/setting`, `event[setting_id]`, `event[settings]`): which templates an
event uses, shared by every event pointing at the same setting, and whether staff may sell at the box office for
an event (`pos_processing`).

Knows nothing of HTTP. A setting only ever names templates of its own tenant and kind (422 naming the field),
its wallet template one of the tenant's Apple Wallet templates (`core.services.wallet_templates`). Editing a
setting changes it for every event that shares it; nothing here copies a setting behind the caller's back.
"""

from __future__ import annotations

from core.db import write_transaction
from core.errors import ApiError, Unprocessable
from core.kits.public_ids import is_public_id
from core.models import Event, EventSetting, Org, utcnow
from core.services import templates
from core.services.wallet_templates import check_template_id
from core.tenancy import get_scoped, same_tenant, scoped

TEMPLATE_FIELDS = {"pdf_template_id": "pdf", "ticket_email_template_id": "email", "tally_template_id": "tally"}
SETTING_FIELDS = ("pdf_template_id", "wallet_template_id", "ticket_email_template_id", "tally_template_id")
POS_PROCESSING = ("enabled", "disabled", "inherit")
ORG_POS_PROCESSING = ("enabled", "disabled")
ORG_POS_SETTING = "pos_processing"  # in Org.settings; absent: enabled


class PosProcessingDisabled(ApiError):
    """403: box-office sales are switched off for this event (its `pos_processing`, or the organisation's)."""

    status, type = 403, "pos_processing_disabled"


# --- the setting record --------------------------------------------------------------------------------

def check_setting_values(org: Org | str, data: dict) -> dict:
    """The setting fields of `data` checked: known names only, each template id naming a template of this
    tenant of the right kind (422 `template_not_found` naming the field), the wallet id one of the tenant's
    wallet templates (422 `wallet_template_not_found`)."""
    unknown = sorted(set(data) - set(SETTING_FIELDS))
    if unknown:
        raise Unprocessable("The setting is invalid; see `errors`.", type="invalid_setting",
                            errors={name: ["Unknown field."] for name in unknown})
    wallet = data.get("wallet_template_id")
    if wallet is not None and not is_public_id(wallet):
        raise Unprocessable("The setting is invalid; see `errors`.", type="invalid_setting",
                            errors={"wallet_template_id": ["Must be a numeric id or null."]})
    check_template_id(org, wallet)
    templates.templates_by_public_id(org, {field: (kind, data.get(field)) for field, kind in TEMPLATE_FIELDS.items()
                                           if field in data})
    return {name: data[name] for name in SETTING_FIELDS if name in data}


def own_setting(org: Org | str, event: Event) -> EventSetting | None:
    """The setting `event` itself points at, or None (no query when it points at none)."""
    if not event.setting_id:
        return None
    return scoped(EventSetting, org).where((EventSetting.id == event.setting_id)
                                           & (EventSetting.org == event.org_id)).first()


def setting_of(org: Org | str, event: Event) -> EventSetting | None:
    """The setting whose templates `event`'s tickets use: its own, else (a session or a generated date without
    one) its parent event's, else None; one query at most."""
    if event.setting_id or not event.parent_event_id:
        return own_setting(org, event)
    shared = (Event.setting_id == EventSetting.id) & same_tenant(Event, EventSetting)
    return scoped(EventSetting, org).join(Event, on=shared).where(Event.id == event.parent_event_id).first()


def event_count(org: Org | str, setting: EventSetting) -> int:
    """How many events share `setting`."""
    return scoped(Event, org, Event.id).where(Event.setting_id == setting.id).count()


def get_event_setting(org: Org, event_id: str) -> EventSetting | None:
    """The setting the tenant's event points at (404 `event_not_found`), or None when it names none."""
    return own_setting(org, get_scoped(Event, org, event_id, "event"))


def update_event_setting(org: Org, event_id: str, data: dict) -> EventSetting:
    """Change the fields sent of the event's setting and answer it. An event without one gets a new setting
    (made and pointed at in the same transaction); a setting shared with other events is edited in place, so
    the change applies to all of them (give an event a setting of its own with `setting_id` first to keep the
    others as they are)."""
    event = get_scoped(Event, org, event_id, "event")
    values = check_setting_values(org, data)
    with write_transaction():
        setting = own_setting(org, event)
        if setting is None:
            setting = EventSetting(org=org, **values)
            setting.save(force_insert=True)
            Event.update(setting_id=setting.id, updated_at=utcnow()).where(
                (Event.id == event.id) & (Event.org == org.id)).execute()
        elif values:
            for name, value in values.items():
                setattr(setting, name, value)
            setting.save()
    return setting


# --- what an event body sets ---------------------------------------------------------------------------

def event_setting_values(org: Org | str, data: dict, current: dict | None) -> dict:
    """Inside an event create/update: the event columns that `setting_id` and `settings` of its body set.
    `setting_id` must name a setting of this tenant (422 `setting_not_found` naming it; null: the built-ins);
    `settings.pos_processing` is stored in the event's own settings (`inherit` removes the override)."""
    values: dict = {}
    if "setting_id" in data:
        setting_id = data["setting_id"]
        if setting_id is not None and not scoped(EventSetting, org, EventSetting.id).where(
                EventSetting.id == str(setting_id)[:64]).exists():
            raise Unprocessable(f"No event setting with id {setting_id!r} in this organisation.",
                                type="setting_not_found", errors={"setting_id": ["No such event setting."]})
        values["setting_id"] = setting_id
    inline = data.get("settings")
    if inline:
        settings = dict(current or {})
        mode = inline.get("pos_processing")
        if mode is not None and mode not in POS_PROCESSING:
            raise Unprocessable("The event settings are invalid; see `errors`.", type="invalid_setting",
                                errors={"settings.pos_processing": [f"Must be one of {', '.join(POS_PROCESSING)}."]})
        if mode == "inherit":
            settings.pop("pos_processing", None)
        elif mode is not None:
            settings["pos_processing"] = mode
        values["settings"] = settings
    return values


# --- box-office sales ----------------------------------------------------------------------------------

def pos_processing(event: Event) -> str:
    """The event's own `pos_processing`: enabled, disabled or inherit (the default)."""
    return (event.settings or {}).get("pos_processing") or "inherit"


def org_pos_processing(org: Org) -> str:
    """The organisation's default for events that inherit: enabled (the default) or disabled."""
    return (org.settings or {}).get(ORG_POS_SETTING) or "enabled"


def check_box_office_sale(org: Org, event: Event) -> None:
    """403 `pos_processing_disabled` when staff may not sell at the box office for `event`: its own
    `pos_processing` is disabled, or it inherits and the organisation's is. Reads no row (the event and the
    organisation are loaded)."""
    mode = pos_processing(event)
    if mode == "inherit":
        mode = org_pos_processing(org)
        if mode == "disabled":
            raise PosProcessingDisabled("Box-office sales are disabled for this organisation's events "
                                        "(`posProcessing` of /org/settings), and this event inherits that.",
                                        setting="organisation")
    if mode == "disabled":
        raise PosProcessingDisabled("Box-office sales are disabled for this event (its `settings.pos_processing`).",
                                    setting="event")

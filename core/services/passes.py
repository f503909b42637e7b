"""Passes (003 `event[passes]`): the ticket types of a parent event that cover every one of its sessions.

A pass is a `TicketType` on the parent with `is_pass` and `admits_every_session` (the door admits it at each
session without a choice of sessions, counting each session's entries apart: `core.services.checkin`). Its
fields are a registration type's, applied in place by `core.services.registration_types` (never a copy of it),
plus `separate` (the inverse of the core's `grouped`) and an inline `ticket_type` (a new ticket configuration
the pass points at). Knows nothing of HTTP; never moves seat counters.
"""

from __future__ import annotations

from core.errors import Unprocessable
from core.models import Event, EventTicketConfiguration, Org, TicketConfiguration, TicketType, utcnow
from core.services import registration_types

# The ticket types that are 003 passes; `include=passes` lists these and `registration_types` the others.
IS_003_PASS = TicketType.is_pass & TicketType.admits_every_session
CONFIGURATION_FIELDS = ("name", "display_name", "attachable", "transferable", "include_name", "require_name",
                        "include_email", "require_email")


def _invalid(errors: dict) -> None:
    raise Unprocessable("The event is invalid; see `errors`.", type="invalid_event", errors=errors)


def _pass_fields(item: dict, index: int) -> dict:
    """What makes a tier a 003 pass, and `separate` as the core's `grouped` (true: a ticket per holder; false:
    one combined ticket)."""
    fields = {"is_pass": True, "admits_every_session": True}
    if "separate" in item:
        fields["grouped"] = not item["separate"]
        if item.get("grouped") is not None and item["grouped"] != fields["grouped"]:
            _invalid({f"passes[{index}].separate": ["contradicts `grouped`; send `separate` alone"]})
    return fields


def _configuration_values(inline: dict, index: int) -> dict:
    values = {name: inline[name] for name in CONFIGURATION_FIELDS if name in inline}
    if not str(values.get("name") or "").strip():
        _invalid({f"passes[{index}].ticket_type.name": ["is required"]})
    errors = {f"passes[{index}].ticket_type.require_{what}": [f"needs include_{what}"] for what in ("name", "email")
              if values.get(f"require_{what}") and values.get(f"include_{what}") is False}
    if errors:
        _invalid(errors)
    return values


def create_configuration(org: Org, event: Event, values: dict) -> TicketConfiguration:
    """A new ticket configuration (003's inline "ticket type") attached to `event`. Call inside the caller's
    write transaction."""
    configuration = TicketConfiguration(org=org, **values)
    configuration.save(force_insert=True)
    EventTicketConfiguration.create(org=org, event=event, configuration=configuration)
    return configuration


def _point_at(ticket_type: TicketType, configuration: TicketConfiguration) -> None:
    TicketType.update(configuration=configuration.id, updated_at=utcnow()).where(
        TicketType.id == ticket_type.id).execute()


def _checked(items: list[dict], creating: bool) -> None:
    for index, item in enumerate(items):
        if creating and item.get("id") is not None:
            _invalid({f"passes[{index}].id": ["names an existing pass to change: only on update"]})
        if item.get("_destroy") and item.get("id") is None:
            _invalid({f"passes[{index}]._destroy": ["needs the `id` of the pass to remove"]})
        if item.get("ticket_type") is not None and item.get("ticket_type_id") is not None:
            _invalid({f"passes[{index}].ticket_type": ["send `ticket_type` or `ticket_type_id`, not both"]})
        if item.get("ticket_type") is not None:
            _configuration_values(item["ticket_type"], index)


def apply_passes(org: Org, event: Event, items: list[dict], *, creating: bool) -> None:
    """Create the passes of a parent event (on create every item is new), or on update change passes in place
    by `id` (`_destroy: true` removes one nobody bought, else 409 `ticket_type_has_sales`) and add those without
    one; passes not sent stay. 422 naming `passes` on any other event type. Call inside the caller's write
    transaction."""
    if not items:
        return
    if event.type != "parent":
        _invalid({"passes": ["only parent events have passes (they cover every session)"]})
    _checked(items, creating)
    saved = registration_types.apply_registration_types(org, event, items, field="passes", extra=_pass_fields,
                                                        kind=IS_003_PASS)
    for index, (item, tier) in enumerate(zip(items, saved, strict=True)):
        if tier is not None and item.get("ticket_type") is not None:
            _point_at(tier, create_configuration(org, event, _configuration_values(item["ticket_type"], index)))

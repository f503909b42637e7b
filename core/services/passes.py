"""Passes (003 `event[passes]`): the ticket types of a parent event that cover every one of its sessions.

A pass is a `TicketType` on the parent with `is_pass` and `admits_every_session` (the door admits it at each
session without a choice of sessions, counting each session's entries apart: `core.services.checkin`). Its
fields are a registration type's, applied in place by `core.services.registration_types` (never a copy of it),
plus `separate` (the inverse of the core's `grouped`) and an inline `ticket_type` (a new ticket configuration,
made by `core.services.ticket_configurations`, that the pass points at). Knows nothing of HTTP; never moves seat
counters.
"""

from __future__ import annotations

from core.errors import Unprocessable
from core.models import Event, Org, TicketType
from core.services import registration_types, ticket_configurations

# The ticket types that are 003 passes; `include=passes` lists these and `registration_types` the others.
IS_003_PASS = TicketType.is_pass & TicketType.admits_every_session


def _invalid(errors: dict) -> None:
    raise Unprocessable("The event is invalid; see `errors`.", type="invalid_event", errors=errors)


def _checked(items: list[dict], creating: bool) -> None:
    for index, item in enumerate(items):
        if creating and item.get("id") is not None:
            _invalid({f"passes[{index}].id": ["names an existing pass to change: only on update"]})
        if item.get("_destroy") and item.get("id") is None:
            _invalid({f"passes[{index}]._destroy": ["needs the `id` of the pass to remove"]})
        if item.get("ticket_type") is not None and item.get("ticket_type_id") is not None:
            _invalid({f"passes[{index}].ticket_type": ["send `ticket_type` or `ticket_type_id`, not both"]})
        if item.get("separate") is not None and item.get("grouped") is not None \
                and item["grouped"] == item["separate"]:
            _invalid({f"passes[{index}].separate": ["contradicts `grouped`; send `separate` alone"]})


def _pass_fields(org: Org, item: dict, index: int) -> dict:
    """What makes a tier a 003 pass; `separate` as the core's `grouped` (true: a ticket per holder; false: one
    combined ticket); an inline `ticket_type` made into a configuration (the ticket-types service attaches it
    to the event)."""
    fields = {"is_pass": True, "admits_every_session": True}
    if item.get("separate") is not None:
        fields["grouped"] = not item["separate"]
    if item.get("ticket_type") is not None:
        configuration = ticket_configurations.create_configuration(org, item["ticket_type"],
                                                                   prefix=f"passes[{index}].ticket_type.")
        fields["configuration"] = configuration.id
    return fields


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
    registration_types.apply_registration_types(org, event, items, field="passes", kind=IS_003_PASS,
                                                extra=lambda item, index: _pass_fields(org, item, index))

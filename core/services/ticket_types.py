"""Ticket types: create, change, archive or delete the sellable tiers of an event, every rule checked first.

Knows nothing of HTTP or Flask, and never moves the sold/held counters (core.services.capacity owns them).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from peewee import JOIN, Select

from core.db import write_transaction
from core.errors import Conflict, NotFound, Unprocessable
from core.models import BookingLine, Event, Org, Ticket, TicketConfiguration, TicketType, utcnow
from core.models.catalog import VISIBILITIES
from core.money import is_currency
from core.plugins import hooks_for
from core.services import audit, event_lists, ticket_configurations
from core.services.checkin import forget_ticket_type
from core.services.pickups import apply_ticket_type_pickups
from core.tenancy import along, scoped
from core.timefmt import to_utc_naive

MAX_INT = 2**31 - 1  # INTEGER columns on PostgreSQL

# The model fields a caller may set, in the order their errors are reported.
EDITABLE_FIELDS = (
    "name", "description", "price", "currency", "capacity", "sale_start", "sale_end", "perks",
    "allow_reentry", "reentry_limit", "accepted_scan_points", "visibility", "invite_code", "transferable",
    "refund_policy", "quantity", "grouped", "order_min", "order_max", "service_fee_amount",
    "service_fee_percentage", "is_pass", "admits_every_session", "position", "metadata", "editable", "edit_fee",
    "edit_minutes", "configuration", "list_id", "rotating_qr",
)

AMOUNT_FIELDS = ("price", "service_fee_amount", "edit_fee")
"""The money fields of a ticket type, minor units of its `currency`."""
AUDITED_FIELDS = ("capacity", "currency", *AMOUNT_FIELDS)
"""The fields whose change the audit log records (`ticket_type.changed`): seats and money."""

Errors = dict[str, list[str]]


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _int_check(minimum: int | None, optional: bool = False) -> Callable[[object], str | None]:
    def check(value):
        if value is None and optional:
            return None
        if not _is_int(value):
            return "Must be a whole number."
        if minimum is not None and value < minimum:
            return f"Must be at least {minimum}."
        if value > MAX_INT:
            return f"Must be at most {MAX_INT}."
        return None
    return check


def _text_check(max_length: int | None, optional: bool = False, required: bool = False):
    def check(value):
        if value is None and optional:
            return None
        if not isinstance(value, str):
            return "Must be a string."
        if "\x00" in value:
            return "Must not contain NUL characters."
        if required and not value.strip():
            return "Must not be blank."
        if max_length is not None and len(value) > max_length:
            return f"Must be at most {max_length} characters."
        return None
    return check


def _bool_check(value) -> str | None:
    return None if isinstance(value, bool) else "Must be true or false."


def _datetime_check(value) -> str | None:
    return None if value is None or isinstance(value, dt.datetime) else "Must be a datetime."


def _string_list_check(value) -> str | None:
    if not isinstance(value, list) or len(value) > 100:
        return "Must be a list of at most 100 strings."
    if any(_text_check(200, required=True)(item) for item in value):
        return "Each item must be a non-blank string of at most 200 characters."
    return None


def _percentage_check(value) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        return "Must be a number."
    if not 0 <= value <= 100:
        return "Must be between 0 and 100."
    # The column is a 4-byte float: a tiny non-zero value (1e-140) would underflow in PostgreSQL.
    return None if value == 0 or value >= 1e-6 else "Must be 0 or at least 0.000001."


# One check per field, on the value alone; rules across fields are in `_cross_field_errors`.
_FIELD_CHECKS: dict[str, Callable[[object], str | None]] = {
    "name": _text_check(200, required=True),
    "description": _text_check(20000),
    "price": _int_check(0),
    "currency": lambda v: None if is_currency(v) else "Must be an ISO 4217 currency code such as USD.",
    "capacity": _int_check(0, optional=True),
    "sale_start": _datetime_check,
    "sale_end": _datetime_check,
    "perks": _string_list_check,
    "allow_reentry": _bool_check,
    "reentry_limit": _int_check(1, optional=True),
    "accepted_scan_points": _string_list_check,
    "visibility": lambda v: None if v in VISIBILITIES else f"Must be one of: {', '.join(VISIBILITIES)}.",
    "invite_code": _text_check(100, optional=True),
    "transferable": _bool_check,
    "refund_policy": _text_check(200, optional=True),
    "quantity": _int_check(1),
    "grouped": _bool_check,
    "order_min": _int_check(1, optional=True),
    "order_max": _int_check(1, optional=True),
    "service_fee_amount": _int_check(0),
    "service_fee_percentage": _percentage_check,
    "is_pass": _bool_check,
    "admits_every_session": _bool_check,
    "position": _int_check(-MAX_INT),
    "metadata": lambda v: None if isinstance(v, dict) else "Must be an object.",
    "editable": _bool_check,
    "edit_fee": _int_check(0),
    "edit_minutes": _int_check(1, optional=True),
    "configuration": _text_check(64, optional=True),  # a ticket configuration of the tenant's (`_link`)
    "list_id": lambda v: None if v is None or isinstance(v, str) else "Must be a list id or null.",
    "rotating_qr": _bool_check,
}


def _cross_field_errors(event: Event, values: dict) -> Errors:
    errors: Errors = {}
    start, end = values["sale_start"], values["sale_end"]
    if start is not None and end is not None and end <= start:
        errors["sale_end"] = ["Must be after the sale start."]
    if values["order_min"] is not None and values["order_max"] is not None \
            and values["order_min"] > values["order_max"]:
        errors["order_max"] = ["Must be at least the order minimum."]
    if values["visibility"] == "invite-only" and not (values["invite_code"] or "").strip():
        errors["invite_code"] = ["An invite-only ticket type needs an invite code."]
    if values["is_pass"] and event.type != "parent":
        errors["is_pass"] = ["Only a parent event (one with sessions) can have passes."]
    if values["admits_every_session"] and not values["is_pass"]:
        errors["is_pass"] = ["A 003 pass (admitted at every session) stays a pass; delete it instead."]
    return errors


def validation_errors(event: Event, values: dict) -> Errors:
    """Every problem with a complete set of ticket-type values for `event`, keyed by model field name."""
    errors: Errors = {}
    for name, check in _FIELD_CHECKS.items():
        message = check(values[name])
        if message:
            errors[name] = [message]
    if errors:
        return errors
    return _cross_field_errors(event, values)


def _normalised(fields: dict) -> dict:
    unknown = sorted(set(fields) - set(EDITABLE_FIELDS))
    if unknown:
        raise Unprocessable("Unknown ticket type fields.", errors={k: ["Unknown field."] for k in unknown})
    values = dict(fields)
    for name in ("sale_start", "sale_end"):
        if isinstance(values.get(name), dt.datetime):
            try:
                values[name] = to_utc_naive(values[name])
            except OverflowError as exc:
                raise Unprocessable("The ticket type is not valid.", errors={name: ["Out of range."]}) from exc
    if isinstance(values.get("currency"), str):
        values["currency"] = values["currency"].strip().upper()
    return values


def _check(event: Event, values: dict) -> None:
    errors = validation_errors(event, values)
    if errors:
        raise Unprocessable("The ticket type is not valid; see `errors` for each field.", errors=errors)


def _defaults() -> dict:
    values = {}
    for name in EDITABLE_FIELDS:
        default = TicketType._meta.fields[name].default
        values[name] = default() if callable(default) else default
    return values


def _current(ticket_type: TicketType, name: str):
    """A tier's stored value of an editable field (a configuration by its id, not loaded)."""
    return ticket_type.ticket_configuration_id if name == "configuration" else getattr(ticket_type, name)


def _link(org: Org, event: Event, values: dict) -> None:
    """Check that the configuration a tier names is the tenant's (422 naming `configuration`) and attach it to
    the tier's event (003: a registration type's ticket type is one of its event's)."""
    configuration = ticket_configurations.require_id(org, values.get("configuration"), "configuration")
    if configuration is not None:
        ticket_configurations.attach_id(org, event.id, configuration)


def _require_same_org(org: Org, record, what: str) -> None:
    if record.org_id != org.id:
        raise NotFound(f"No {what.replace('_', ' ')} with id {record.id!r}.", type=f"{what}_not_found")


def create_ticket_type(org: Org, event: Event, fields: dict, pickups: list[dict] | None = None) -> TicketType:
    """Create a ticket type on `event` from model-named `fields` (prices in minor units, naive UTC times), with
    its `pickups` (003 items, `core.services.pickups.apply_ticket_type_pickups`) when given.

    Raises Unprocessable (`validation_error`, per-field `errors`) and writes nothing if any rule fails;
    after the commit, plugins hear `ticket_type_saved(created=True)`.
    """
    _require_same_org(org, event, "event")
    values = {**_defaults(), **_normalised(fields)}
    _check(event, values)
    values["list_id"] = event_lists.check_list_for(org, event, values["list_id"])
    with write_transaction():
        _link(org, event, values)
        ticket_configurations.check_rotating_qr(org, values["configuration"], values["rotating_qr"])
        ticket_type = TicketType.create(org=org, event=event, **values)
        if pickups:
            apply_ticket_type_pickups(org, ticket_type, pickups)
        hooks_for(org).notify("ticket_type_saved", org=org, ticket_type=ticket_type, created=True)
    return ticket_type


def _archived() -> Conflict:
    return Conflict("This ticket type is archived and can no longer be changed.", type="ticket_type_archived")


def update_ticket_type(org: Org, ticket_type: TicketType, fields: dict,
                       pickups: list[dict] | None = None) -> TicketType:
    """Change some fields (and, when given, the `pickups`) of a ticket type; the merged result must pass every
    rule of creation. A call that changes nothing writes nothing and fires no hook (also on an archived type,
    which any change refuses: 409 `ticket_type_archived`).

    Capacity may not drop below the seats already sold or held (409 `capacity_below_sold`, checked in the
    same conditional UPDATE so a concurrent hold cannot slip past). Counters are never written from here.
    """
    _require_same_org(org, ticket_type, "ticket_type")
    changes = _normalised(fields)
    values = {**{name: _current(ticket_type, name) for name in EDITABLE_FIELDS}, **changes}
    errors: Errors = {}
    if values["currency"] != ticket_type.currency:
        for name in AMOUNT_FIELDS:
            if name not in changes and getattr(ticket_type, name):
                errors[name] = ["Send this amount again when you change the currency."]
    if errors:
        raise Unprocessable("The ticket type is not valid; see `errors` for each field.", errors=errors)
    event = ticket_type.event
    _check(event, values)
    changed = {name: value for name, value in changes.items() if value != _current(ticket_type, name)}
    if changed and ticket_type.archived_at is not None:
        raise _archived()
    if "list_id" in changed:
        changed["list_id"] = event_lists.check_list_for(org, event, changed["list_id"])
    condition = ticket_type.row_condition()
    if "capacity" in changed and changed["capacity"] is not None:
        condition &= TicketType.sold + TicketType.held <= changed["capacity"]
    with write_transaction():
        if "configuration" in changed:
            _link(org, event, changed)
        if "configuration" in changed or "rotating_qr" in changed:
            ticket_configurations.check_rotating_qr(org, values["configuration"], values["rotating_qr"])
        if changed and TicketType.update(**changed, updated_at=utcnow()).where(condition).execute() != 1:
            fresh = ticket_type.reread()
            raise Conflict(f"Capacity cannot go below the {fresh.sold + fresh.held} seat(s) already sold or held.",
                           type="capacity_below_sold", sold=fresh.sold, held=fresh.held)
        audited = [name for name in AUDITED_FIELDS if name in changed]
        if audited:
            audit.record(org, "ticket_type.changed", "ticket_type", ticket_type.id,
                         before={name: _current(ticket_type, name) for name in audited},
                         after={name: changed[name] for name in audited})
        moved = pickups is not None and apply_ticket_type_pickups(org, ticket_type, pickups)
        if moved and ticket_type.archived_at is not None:
            raise _archived()  # rolls the pickups back
        if not changed and not moved:
            return ticket_type
        ticket_type = ticket_type.reread()
        forget_ticket_type(ticket_type.id)
        hooks_for(org).notify("ticket_type_saved", org=org, ticket_type=ticket_type, created=False)
    return ticket_type


def _unused(ticket_type: TicketType):
    """The condition of a ticket type nobody bought or reserved: no sold/held seats, tickets or booking lines."""
    tickets = scoped(Ticket, ticket_type.org_id, Ticket.ticket_type).where(Ticket.ticket_type == ticket_type.id)
    lines = scoped(BookingLine, ticket_type.org_id, BookingLine.ticket_type).where(
        BookingLine.ticket_type == ticket_type.id)
    return (ticket_type.row_condition() & (TicketType.sold == 0) & (TicketType.held == 0)
            & TicketType.id.not_in(tickets) & TicketType.id.not_in(lines))


def remove_ticket_type(org: Org, ticket_type: TicketType) -> None:
    """Delete a ticket type nobody has bought or reserved (003's `_destroy`), or 409 `ticket_type_has_sales`
    and change nothing: one conditional DELETE decides, so a hold racing with it keeps the type. Plugins hear
    `ticket_type_deleted`."""
    _require_same_org(org, ticket_type, "ticket_type")
    with write_transaction():
        if not TicketType.delete().where(_unused(ticket_type)).execute():
            raise Conflict("This registration type has sales, holds or tickets and cannot be removed; archive it "
                           "instead.", type="ticket_type_has_sales", ticketTypeId=ticket_type.id)
        hooks_for(org).notify("ticket_type_deleted", org=org, ticket_type=ticket_type)


def delete_ticket_type(org: Org, ticket_type: TicketType) -> str:
    """Delete a ticket type nobody has bought or reserved, else archive it; returns "deleted" or "archived".

    The delete is conditional on zero sold/held seats and no tickets or booking lines, in one statement,
    so a hold racing with it turns the delete into an archive. Plugins hear `ticket_type_deleted`.
    """
    _require_same_org(org, ticket_type, "ticket_type")
    if ticket_type.archived_at is not None:
        return "archived"
    with write_transaction():
        deleted = TicketType.delete().where(_unused(ticket_type)).execute()
        if not deleted:
            now = utcnow()
            TicketType.update(archived_at=now, updated_at=now).where(ticket_type.row_condition()).execute()
            ticket_type = ticket_type.reread()
        hooks_for(org).notify("ticket_type_deleted", org=org, ticket_type=ticket_type)
    outcome = "deleted" if deleted else "archived"
    return outcome


def list_ticket_types(org: Org, event: Event | None = None, include_archived: bool = False, *,
                      event_ids: list[str] | None = None, public_only: bool = False) -> Select:
    """The one way ticket types are listed: a tenant's ticket types, each with its event (one join, for the
    seat figures) and its ticket configuration if any (for the holder fields a checkout asks), by position then
    creation; of one `event` or of `event_ids` when given; archived ones on request; `public_only` keeps the
    public, unarchived ones a customer may see."""
    query = (scoped(TicketType, org, TicketType, Event, TicketConfiguration).join(Event, on=along(TicketType.event))
             .switch(TicketType).join(TicketConfiguration, JOIN.LEFT_OUTER, on=along(TicketType.configuration)))
    if event is not None:
        query = query.where(TicketType.event == event.id)
    if event_ids is not None:
        query = query.where(TicketType.event.in_(event_ids))
    if public_only:
        query = query.where(TicketType.visibility == "public")
    if public_only or not include_archived:
        query = query.where(TicketType.archived_at.is_null())
    return query.order_by(TicketType.position, TicketType.created_at, TicketType.id)

"""Registration types (003) of an event or session: 003's items translated into ticket-type fields and applied
in place: an item with `id` updates that tier, `_destroy: true` removes it, an item without `id` creates one.

Knows nothing of HTTP and holds no ticket-type rule of its own: every value is checked by
`core.services.ticket_types`, whose errors are reported here under 003's names (`registration_types[i].inventory`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from peewee import Expression

from core.errors import Unprocessable
from core.models import Event, Org, TicketType
from core.money import is_currency, to_minor
from core.services import ticket_types
from core.tenancy import scoped

MAX_REGISTRATION_TYPES = 50
# 003 field -> TicketType field, for the fields whose names differ.
RENAMES = {"inventory": "capacity", "editable_minutes": "edit_minutes", "editable_change_fee": "edit_fee",
           "ticket_type_id": "configuration"}
# The 003 amounts (major units of the currency), converted to the ticket type's minor units.
AMOUNTS = ("price", "service_fee_amount", "editable_change_fee")
# The 003 fields copied as they are.
COPIED = ("inventory", "quantity", "order_min", "order_max", "grouped", "service_fee_percentage", "description",
          "visibility", "sale_start", "sale_end", "transferable", "perks", "editable", "editable_minutes",
          "ticket_type_id",  # a ticket configuration's id: checked (and attached) by the ticket-types service
          "list_id")
NAMES_003 = {model: api for api, model in RENAMES.items()}


def _invalid(errors: dict, message: str = "The registration types are invalid; see `errors`.",
             type_: str = "invalid_event"):
    raise Unprocessable(message, type=type_, errors=errors)


@contextlib.contextmanager
def errors_at(where: str) -> Iterator[None]:
    """Report the ticket-types (and pickups) service's field errors under `where` with 003's field names:
    `capacity` becomes `registration_types[0].inventory`."""
    try:
        yield
    except Unprocessable as exc:
        if exc.errors:
            exc.errors = {f"{where}.{NAMES_003.get(key, key)}": value for key, value in exc.errors.items()}
        raise


def registration_type_fields(org: Org, item: dict, index: int, where: str,
                             current: TicketType | None = None) -> dict:
    """003 registration type (amounts in major units) -> TicketType fields (integer minor units).

    A new tier (`current` None) takes the organisation's currency unless one is sent, and its list position;
    an update carries only the fields the item sends (amounts in the currency sent, else the tier's own).
    """
    currency = item.get("currency") or (current.currency if current is not None else None) \
        or (org.settings or {}).get("currency") or "USD"
    if not is_currency(currency):
        _invalid({f"{where}.currency": [f"{currency!r} is not an ISO 4217 code"]})
    fields: dict = {"name": item["name"]} if "name" in item else {}
    if current is None or "currency" in item:
        fields["currency"] = currency
    if current is None:
        fields["position"] = index
    for key in AMOUNTS:
        if key in item:
            try:
                fields[RENAMES.get(key, key)] = to_minor(item[key] or 0, currency)
            except ValueError as exc:
                _invalid({f"{where}.{key}": [str(exc)]})
    for key in COPIED:  # times stay as sent: the ticket-types service makes them naive UTC
        if key in item:
            fields[RENAMES.get(key, key)] = item[key]
    return fields


def _tiers_of(org: Org, event: Event, items: list[dict], kind: Expression | None = None) -> dict[str, TicketType]:
    """The event's own tiers (of `kind`, when given) among the ids the items name (one query)."""
    ids = sorted({str(item["id"])[:64] for item in items if item.get("id") is not None})
    if not ids:
        return {}
    query = scoped(TicketType, org).where((TicketType.event == event.id) & TicketType.id.in_(ids))
    if kind is not None:
        query = query.where(kind)
    return {tier.id: tier for tier in query}


def apply_registration_types(org: Org, event: Event, items: list[dict], prefix: str = "",
                             field: str = "registration_types", *, extra: Callable[[dict, int], dict] | None = None,
                             kind: Expression | None = None) -> None:
    """Create, update and remove `event`'s tiers from 003 `registration_types` items, in list order; tiers not
    listed stay as they are. Re-sending a list unchanged writes nothing. `field` names the list in errors (003's
    passes have the same shape); `extra(item, index)` adds model fields to every created or updated tier, and
    `kind` limits the tiers an `id` may name (passes: `core.services.passes`).

    422 naming `<prefix>registration_types[i].id` for an id that is not one of this event's tiers (`unknown_ids`,
    another tenant's looks made up) or that is listed twice; field errors from the ticket-types service under
    `registration_types[i].<field>`; 409 `ticket_type_has_sales` for `_destroy` of a tier with sales or holds.
    Call inside the caller's write transaction, which any error rolls back whole.
    """
    where = f"{prefix}{field}"
    if len(items) > MAX_REGISTRATION_TYPES:
        _invalid({where: [f"at most {MAX_REGISTRATION_TYPES}"]})
    tiers, seen = _tiers_of(org, event, items, kind), set()
    for index, item in enumerate(items):
        at = f"{where}[{index}]"
        added = extra(item, index) if extra is not None else {}
        if item.get("id") is None:
            fields = {**registration_type_fields(org, item, index, at), **added}
            with errors_at(at):
                ticket_types.create_ticket_type(org, event, fields, pickups=item.get("pickups"))
            continue
        tier = tiers.get(str(item["id"])[:64])
        if tier is None:
            _invalid({f"{at}.id": ["no registration type with this id on this event"]},
                     f"No registration type {item['id']!r} on this event.", "unknown_ids")
        if tier.id in seen:
            _invalid({f"{at}.id": ["this registration type is already listed earlier"]})
        seen.add(tier.id)
        tier.event = event
        if item.get("_destroy"):
            ticket_types.remove_ticket_type(org, tier)
            continue
        fields = {**registration_type_fields(org, item, index, at, current=tier), **added}
        with errors_at(at):
            ticket_types.update_ticket_type(org, tier, fields, pickups=item.get("pickups"))

"""The checkout form read into the core's purchase body: quantities per ticket type, holders per ticket where a
type asks for them, buyer, promotion and invite codes, gateway; validated by the core's own `PurchaseSchema`.

Decides nothing about what may be bought (order limits, sale windows, codes, seats, holder rules are the booking
service's); never reads Flask state (the caller passes the posted form).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from marshmallow import ValidationError

from core.api.purchase import PurchaseSchema
from core.models import Event, TicketType
from core.services.booking import invite_opens
from core.services.capacity import available_seats
from core.services.issuing import tickets_for_units
from core.services.ticket_configurations import HolderFields, configuration_of, holder_fields

MAX_UNITS_SHOWN = 20      # a quantity menu offers at most this many (the type's order_max and seats left bound it)
_SCHEMA = PurchaseSchema()


@dataclass(frozen=True)
class Choice:
    """A ticket type the form offers, with the quantities its menu lists and what it asks of each holder."""

    ticket_type: TicketType
    units: list[int]
    holders: HolderFields

    @property
    def asks_holders(self) -> bool:
        """The type's tickets ask for a holder's name or e-mail."""
        return self.holders.include_name or self.holders.include_email


def quantity_menu(ticket_type: TicketType, available: int | None) -> list[int]:
    """The quantities a buyer may pick: 0, then the type's order minimum up to its maximum, what is left and
    MAX_UNITS_SHOWN (the booking service checks the choice again)."""
    low = max(ticket_type.order_min or 1, 1)
    high = min(ticket_type.order_max or MAX_UNITS_SHOWN, MAX_UNITS_SHOWN)
    if available is not None:
        high = min(high, available // max(ticket_type.quantity or 1, 1))
    return [0, *range(low, high + 1)] if high >= low else [0]


def choices(offers, invite_only: list[TicketType], invite_code: str) -> list[Choice]:
    """What the form offers: the buyable public offers, then the invite-only types the code opens (the booking
    service's `invite_opens`, which the purchase checks again)."""
    found = [Choice(o.ticket_type, quantity_menu(o.ticket_type, o.available),
                    holder_fields(configuration_of(o.ticket_type))) for o in offers if o.buyable]
    for ticket_type in invite_only:
        if ticket_type.visibility == "invite-only" and invite_opens(ticket_type, invite_code):
            left = available_seats(ticket_type, ticket_type.event)
            found.append(Choice(ticket_type, quantity_menu(ticket_type, left),
                                holder_fields(configuration_of(ticket_type))))
    return found


@dataclass
class Posted:
    """A checkout form as posted: the chosen units per type and the rest of the body, or the field errors."""

    units: dict[str, int] = field(default_factory=dict)
    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)

    def chosen(self, offered: list[Choice]) -> list[Choice]:
        """The offered choices the buyer picked a quantity of."""
        return [c for c in offered if self.units.get(c.ticket_type.id, 0) > 0]

    def ticket_count(self, choice: Choice) -> int:
        """How many tickets the chosen units of `choice` issue (one holder block each)."""
        return tickets_for_units(choice.ticket_type, self.units.get(choice.ticket_type.id, 0))


TEXT_FIELDS = ("email", "name", "promo", "invite", "gateway", "key", "step")


def read_form(form: Mapping[str, str], offered: list[Choice]) -> Posted:
    """Quantities (`qty.<type id>`) of the offered types and the text fields; a quantity that is not one of the
    menu's numbers is a field error."""
    posted = Posted(values={name: (form.get(name) or "").strip() for name in TEXT_FIELDS})
    for choice in offered:
        raw = (form.get(f"qty.{choice.ticket_type.id}") or "0").strip()
        if not raw.isdigit() or len(raw) > 4:
            posted.errors[f"qty.{choice.ticket_type.id}"] = ["not_a_number"]
            continue
        if int(raw) > 0:
            posted.units[choice.ticket_type.id] = int(raw)
    return posted


def purchase_body(event: Event, posted: Posted, offered: list[Choice], form: Mapping[str, str]) -> dict:
    """The purchase body the client API would receive for this form (`PurchaseSchema`'s shape), loaded by that
    schema: 422 errors come back as `ValidationError` with the schema's messages."""
    items = []
    for choice in posted.chosen(offered):
        item: dict = {"ticketTypeId": choice.ticket_type.id, "quantity": posted.units[choice.ticket_type.id]}
        if choice.asks_holders:
            item["holders"] = [_holder(form, choice.ticket_type.id, index)
                               for index in range(posted.ticket_count(choice))]
        items.append(item)
    body: dict = {"eventId": event.id, "items": items, "email": posted.values["email"],
                  "name": posted.values["name"]}
    for name, key in (("promo", "promoCode"), ("invite", "inviteCode"), ("gateway", "paymentGateway")):
        if posted.values[name]:
            body[key] = posted.values[name]
    if not items:
        raise ValidationError({"items": ["choose_tickets"]})
    return _SCHEMA.load(body)


def _holder(form: Mapping[str, str], type_id: str, index: int) -> dict:
    """One ticket's holder block (`holder.<type>.<n>.name` / `.email`), the empty fields left out."""
    found = {part: (form.get(f"holder.{type_id}.{index}.{part}") or "").strip() for part in ("name", "email")}
    return {part: value for part, value in found.items() if value}

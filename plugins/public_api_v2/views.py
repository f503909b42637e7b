"""003's JSON shapes of the core's event views: numeric ids in place of UUIDs, 003's registration types.

Takes the dicts the core renders (`core.api.events.event_body` / `event_list_body`), renames the registration
types' fields to 003's and swaps ids through ONE declarative map (`EVENT_VIEW`); every value comes from the
core. One lookup per table for a whole page (`plugins.public_api_v2.ids`).
"""

from __future__ import annotations

from decimal import Decimal

from core.models import Org
from core.plugins import hooks_for
from plugins.public_api_v2.ids import resolve, to_public_ids

# Answer field -> the model whose id it holds (names in `core.models`; live once the model has a public id).
VENUE_VIEW = {"id": "Venue"}
REGISTRATION_TYPE_VIEW = {
    "id": "TicketType", "event_id": "Event", "ticket_type_id": "TicketConfiguration",
    "event": {"id": "Event", "parent_event_id": "Event", "venue_id": "Venue", "venue": VENUE_VIEW},
    "pickups": {"id": "TicketTypePickup", "pickup_type_id": "PickupType"},
}
EVENT_VIEW = {
    "id": "Event", "venue_id": "Venue", "parent_event_id": "Event", "calendar_id": "Calendar", "venue": VENUE_VIEW,
    "setting_id": "EventSetting",
    "categories": {"id": "Category"}, "tags": {"id": "Tag"}, "campaigns": {"id": "Campaign"},
    "recurrences": {"id": "Recurrence"}, "registration_types": REGISTRATION_TYPE_VIEW,
    "list": {"id": "EventList", "event_id": "Event", "permanent_list_id": "PermanentList"},
}
EVENT_VIEW["sessions"] = EVENT_VIEW  # a session is an event


def number(major: str | None) -> int | float | None:
    """A major-unit amount the core renders as text ("50.00") as a JSON number (50), as 003's samples show."""
    if major is None:
        return None
    value = Decimal(major)
    return int(value) if value == value.to_integral_value() else float(value)


# 003 name -> the core's (staff) ticket type view field it shows as it is.
SAME_VALUE = {"name": "name", "description": "description", "prices": "prices", "inventory": "capacity",
              "available": "available", "quantity": "quantity", "grouped": "grouped", "order_min": "orderMin",
              "order_max": "orderMax", "service_fee_percentage": "serviceFeePercentage",
              "transferable": "transferable", "editable": "editable", "editable_minutes": "editableMinutes",
              "sale_start": "saleStart", "sale_end": "saleEnd",
              "position": "position", "ticket_type_id": "ticketConfigurationId"}
# What `registration_types.*` includes add to a core view, shown as they are (ids swapped by the map).
ADDED_BY_INCLUDES = ("stock_item", "event")


def configuration_v2(view: dict) -> dict:
    """003's ticket type from the core's view of a ticket configuration: its `public_id` as `id`."""
    out = dict(view)
    out["id"] = out.pop("public_id")
    return out


def registration_type_v2(tt: dict) -> dict:
    """003 registration type from the core's ticket type view (staff form); ids still UUIDs."""
    out = {"id": tt["id"], "event_id": tt["eventId"], "variant_id": None}
    out.update({name: tt[core] for name, core in SAME_VALUE.items() if core in tt})
    out.update(price=number(tt["price"]), service_fee_amount=number(tt["serviceFeeAmount"]),
               editable_change_fee=number(tt["editableChangeFee"]))
    out.update({name: tt[name] for name in ADDED_BY_INCLUDES if name in tt})
    if "ticket_type" in tt:
        out["ticket_type"] = configuration_v2(tt["ticket_type"]) if tt["ticket_type"] else None
    if "pickups" in tt:
        out["pickups"] = [{"id": p["id"], "pickup_type_id": p["pickupTypeId"], "name": p["name"],
                           "quantity": p["quantity"]} for p in tt["pickups"]]
    return out


def reshaped(view: dict) -> dict:
    """003 event from the core's event view, sessions too; ids still UUIDs."""
    out = dict(view)
    if "sessions" in view:
        out["sessions"] = [reshaped(child) for child in view["sessions"]]
    if "registration_types" in view:
        out["registration_types"] = [registration_type_v2(tt) for tt in view["registration_types"]]
    return out


def registration_types_in(events: list[dict]) -> list[dict]:
    """Every registration type of `events` (reshaped), their sessions' too."""
    found = []
    for event in events:
        found += event.get("registration_types") or []
        found += registration_types_in(event.get("sessions") or [])
    return found


def with_variant_ids(org: Org, registration_types: list[dict]) -> None:
    """Fill each registration type's `variant_id` (ids still UUIDs) with the numeric id of the record a plugin
    of the tenant mirrors it to (hook `ticket_type_variant_ids`, called once); null when none does."""
    if not registration_types:
        return
    found: dict[str, int] = {}
    for answer in hooks_for(org).ticket_type_variant_ids(org=org, ticket_type_ids=[
            rt["id"] for rt in registration_types]):
        found.update(answer or {})
    for rt in registration_types:
        rt["variant_id"] = found.get(rt["id"])


def events_v2(org: Org, views: list[dict]) -> list[dict]:
    """003 events from the core's views of `org`'s events, with one id lookup per table and one variant id
    lookup for the whole answer."""
    events = [reshaped(view) for view in views]
    with_variant_ids(org, registration_types_in(events))
    return to_public_ids(org, events, resolve(EVENT_VIEW))

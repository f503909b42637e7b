"""003's JSON shapes of the core's event views: numeric ids in place of UUIDs, 003's registration types.

Takes the dicts the core renders (`core.api.events.event_body` / `event_list_body`) and rewrites ids and
field names only; every value comes from the core. One lookup per table for a whole page
(`core.kits.public_ids`).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from core.kits.public_ids import public_ids_for
from core.models import Calendar, Event, Org, TicketType, Venue


@dataclass(frozen=True)
class IdMaps:
    """UUID -> public id of the events, venues, ticket types and calendars one answer shows."""

    events: dict[str, int]
    venues: dict[str, int]
    ticket_types: dict[str, int]
    calendars: dict[str, int]

    @classmethod
    def of(cls, org: Org, views: list[dict]) -> IdMaps:
        """The maps for the core event views `views` (their sessions, venues and registration types too)."""
        events: set[str] = set()
        venues: set[str] = set()
        ticket_types: set[str] = set()
        calendars: set[str] = set()

        def collect(view: dict) -> None:
            events.update(v for v in (view.get("id"), view.get("parent_event_id")) if v)
            venues.update(v for v in (view.get("venue_id"), (view.get("venue") or {}).get("id")) if v)
            calendars.update(v for v in (view.get("calendar_id"),) if v)
            for tt in view.get("registration_types") or ():
                ticket_types.add(tt["id"])
                events.add(tt["eventId"])
            for child in view.get("sessions") or ():
                collect(child)

        for view in views:
            collect(view)
        return cls(public_ids_for(Event, org, events), public_ids_for(Venue, org, venues),
                   public_ids_for(TicketType, org, ticket_types), public_ids_for(Calendar, org, calendars))


def number(major: str | None) -> int | float | None:
    """A major-unit amount the core renders as text ("50.00") as a JSON number (50), as 003's samples show."""
    if major is None:
        return None
    value = Decimal(major)
    return int(value) if value == value.to_integral_value() else float(value)


def venue_v2(venue: dict, ids: IdMaps) -> dict:
    """003 venue: the core's venue view with its numeric id."""
    return {**venue, "id": ids.venues[venue["id"]]}


def registration_type_v2(tt: dict, ids: IdMaps) -> dict:
    """003 registration type from the core's ticket type view (staff form)."""
    return {
        "id": ids.ticket_types[tt["id"]],
        "event_id": ids.events[tt["eventId"]],
        "variant_id": None,
        "name": tt["name"],
        "description": tt["description"],
        "price": number(tt["price"]),
        "prices": tt["prices"],
        "inventory": tt["capacity"],
        "available": tt["available"],
        "quantity": tt["quantity"],
        "grouped": tt["grouped"],
        "order_min": tt["orderMin"],
        "order_max": tt["orderMax"],
        "service_fee_amount": number(tt["serviceFeeAmount"]),
        "service_fee_percentage": tt["serviceFeePercentage"],
        "transferable": tt["transferable"],
        "editable": tt["editable"],
        "editable_change_fee": number(tt["editableChangeFee"]),
        "editable_minutes": tt["editableMinutes"],
        "sale_start": tt["saleStart"],
        "sale_end": tt["saleEnd"],
        "position": tt["position"],
    }


def event_v2(view: dict, ids: IdMaps) -> dict:
    """003 event from the core's event view: numeric `id`, `venue_id`, `parent_event_id`, nested too."""
    out = {**view, "id": ids.events[view["id"]]}
    if out.get("venue_id") is not None:
        out["venue_id"] = ids.venues[view["venue_id"]]
    if out.get("parent_event_id") is not None:
        out["parent_event_id"] = ids.events[view["parent_event_id"]]
    if out.get("calendar_id") is not None:
        out["calendar_id"] = ids.calendars[view["calendar_id"]]
    if view.get("venue"):
        out["venue"] = venue_v2(view["venue"], ids)
    if "sessions" in view:
        out["sessions"] = [event_v2(child, ids) for child in view["sessions"]]
    if "registration_types" in view:
        out["registration_types"] = [registration_type_v2(tt, ids) for tt in view["registration_types"]]
    return out


def events_v2(org: Org, views: list[dict]) -> list[dict]:
    """003 events from the core's views of `org`'s events, with one id lookup per table."""
    ids = IdMaps.of(org, views)
    return [event_v2(view, ids) for view in views]

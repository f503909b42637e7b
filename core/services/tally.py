"""Door tally sheets: a printable PDF per event listing each ticket type with its counts (sold, checked in,
remaining...) and a grid of boxes to tally entries by hand, laid out by the event's tally template (its setting's
`tally_template_id`) or the built-in one (`core.kits.pdf`).

Pure reading and rendering: it never changes a ticket or a count, and reads two queries' worth of rows.
"""

from __future__ import annotations

import datetime as dt

from peewee import fn

from core.kits.pdf import A4, Column, Gap, Table, Text, render_pdf
from core.models import Event, Org, Template, Ticket, TicketType, utcnow
from core.money import format_money
from core.services import templates
from core.services.event_settings import setting_of
from core.services.ticket_pdf import local_time_text, venue_lines
from core.tenancy import get_scoped, scoped

COLUMN_SPECS = {"ticket_type": ("Ticket type", 48), "price": ("Price", 24), "capacity": ("Capacity", 18),
                "sold": ("Sold", 14), "checked_in": ("Checked in", 18), "remaining": ("Remaining", 18)}


def tally_template_of(org: Org, event: Event) -> Template | None:
    """The tally template the event's setting names, or None (the built-in layout)."""
    setting = setting_of(org, event)
    return templates.template_for(org, "tally", setting.tally_template_id if setting is not None else None)


def tally_rows(org: Org, event: Event) -> list[dict]:
    """One row per ticket type of the event (archived ones left out), in their order: name, price, capacity,
    seats sold, tickets checked in and seats remaining, as text."""
    types = list(scoped(TicketType, org).where((TicketType.event == event.id) & TicketType.archived_at.is_null())
                 .order_by(TicketType.position, TicketType.created_at))
    checked = dict(scoped(Ticket, org, Ticket.ticket_type, fn.COUNT(Ticket.id))
                   .where((Ticket.event == event.id) & (Ticket.status == "checked_in"))
                   .group_by(Ticket.ticket_type).tuples())
    rows = []
    for tt in types:
        remaining = "" if tt.capacity is None else str(max(tt.capacity - tt.sold - tt.held, 0))
        rows.append({"ticket_type": tt.name, "price": format_money(tt.price, tt.currency),
                     "capacity": "unlimited" if tt.capacity is None else str(tt.capacity), "sold": str(tt.sold),
                     "checked_in": str(checked.get(tt.id, 0)), "remaining": remaining or "unlimited"})
    return rows


def render_tally_pdf(org: Org, event_id: str, now: dt.datetime | None = None) -> tuple[Event, bytes]:
    """The tenant's event (404 `event_not_found`) and its door tally sheet as an A4 PDF."""
    event = get_scoped(Event, org, event_id, "event")
    template = tally_template_of(org, event)
    layout = {**templates.LAYOUT_DEFAULTS["tally"], **(template.layout if template is not None else {})}
    columns = tuple(Column(COLUMN_SPECS[name][0], name, COLUMN_SPECS[name][1]) for name in layout["columns"])
    data = {"organiser": org.name, "event": event.name, "when": local_time_text(event.starts_at, event.tz),
            "where": ", ".join(venue_lines(event)),
            "printed_at": local_time_text(now or utcnow(), event.tz), "rows": tally_rows(org, event)}
    blocks = [Text(layout["title"], size=16, bold=True), Text(layout["subtitle"], size=10, muted=True), Gap(4),
              Table("rows", columns, boxes=layout["boxes"])]
    return event, render_pdf(blocks, data, page_mm=A4, footer=layout["footer"])

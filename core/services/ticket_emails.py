"""Ticket delivery e-mails from a tenant's template: which template an event's tickets are e-mailed with (its
setting's `ticket_email_template_id`), the values its placeholders take, and the preview staff ask for.

Reads only; sends nothing (the notifications plugin delivers). The values are exactly
`core.services.templates.EMAIL_PLACEHOLDERS`, so a template that saved renders without error.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from core.models import Booking, Event, Org, Template, Ticket, TicketType
from core.services import templates
from core.services.event_settings import setting_of
from core.services.ticket_configurations import shown_name
from core.services.ticket_pdf import local_time_text, pdf_link, venue_lines
from core.tenancy import along, get_scoped, scoped


def email_template_of(org: Org | str, event: Event) -> Template | None:
    """The ticket e-mail template the event's setting names, or None (the notifications plugin's own); no
    query for an event without a setting."""
    setting = setting_of(org, event)
    if setting is None or setting.ticket_email_template_id is None:
        return None
    return templates.template_for(org, "email", setting.ticket_email_template_id)


def _seats(ticket: Ticket) -> str:
    return f"{ticket.seats} seat" + ("" if ticket.seats == 1 else "s")


def ticket_email_values(org: Org, event: Event, tickets: Sequence[Ticket], *, booking: Booking | None = None,
                        recipient_name: str = "", link_for: Callable[[Ticket], str] | None = None) -> dict:
    """Every placeholder's value for an e-mail carrying `tickets` of `event`; `link_for` makes a ticket's PDF
    download link (default: the signed link itself; the notifications plugin passes a stand-in it swaps at
    send time so its log keeps no live link)."""
    link_for = link_for or (lambda ticket: pdf_link(org, ticket))
    names = {t.id: shown_name(t.ticket_type) for t in tickets}
    holder = next((t.holder_name for t in tickets if t.holder_name), "") or recipient_name
    return {
        "organiser": org.name,
        "event_name": event.name,
        "event_when": local_time_text(event.starts_at, event.tz),
        "event_where": ", ".join(venue_lines(event)),
        "recipient_name": recipient_name,
        "holder_name": holder,
        "order_reference": booking.id if booking is not None else "",
        "ticket_count": len(tickets),
        "ticket_list": "\n".join(f"{names[t.id]} ({_seats(t)})" + (f": {t.holder_name}" if t.holder_name else "")
                                 for t in tickets),
        "ticket_links": "\n".join(f"{names[t.id]}: {link_for(t)}" for t in tickets),
    }


def preview(org: Org, template_id: str, booking_id: str | None = None) -> templates.RenderedEmail:
    """The template rendered with a booking of this tenant's data (its tickets, buyer and event; 404
    `booking_not_found`), or with `templates.SAMPLE_EMAIL_VALUES` when no booking is named."""
    template = templates.get_template(org, "email", template_id)
    if booking_id is None:
        return templates.render_email(template, templates.SAMPLE_EMAIL_VALUES)
    booking = get_scoped(Booking, org, booking_id, "booking")
    tickets = list(scoped(Ticket, org).join(TicketType, on=along(Ticket.ticket_type))
                   .where(Ticket.booking == booking.id)
                   .order_by(Ticket.created_at, Ticket.id))
    event = get_scoped(Event, org, booking.event_id, "event")
    values = ticket_email_values(org, event, tickets, booking=booking, recipient_name=booking.name)
    return templates.render_email(template, values)

"""The waiting-list e-mail: one message per state change of a customer's entry (kind `waitlist`), rendered from
the plugin's templates (or the tenant's overrides) and logged like the other e-mails.

Knows nothing of the resale plugin's tables: it reads only the customer, event and ticket type the entry names.
"""

from __future__ import annotations

from core.models import Customer, Event, Org, TicketType
from core.plugins import plugin_settings
from core.services.ticket_pdf import local_time_text
from core.tenancy import get_scoped
from plugins.notifications.models import Message
from plugins.notifications.render import render_email
from plugins.notifications.service import PLUGIN, build_context, log_and_enqueue

STATES = ("joined", "offered", "accepted", "lapsed", "withdrawn", "left")


def waitlist_email(org: Org, entry, offer, state: str, checkout_url: str | None) -> Message | None:
    """Render and queue the `waitlist` e-mail for the entry's customer; None for an unknown state or no address."""
    if state not in STATES:
        return None
    customer = get_scoped(Customer, org, entry.customer_id, "customer")
    if not customer.email or "@" not in customer.email:
        return None
    event = get_scoped(Event, org, entry.event_id, "event")
    ticket_type = get_scoped(TicketType, org, entry.ticket_type_id, "ticket_type")
    settings = plugin_settings(org, PLUGIN)
    context = build_context(org, event, [], recipient_name=customer.name, settings=settings, state=state,
                            ticket_type=ticket_type.name, seats=offer.seats if offer is not None else entry.seats,
                            checkout_url=checkout_url,
                            deadline=local_time_text(offer.expires_at, event.tz) if offer is not None else "",
                            resale=bool(offer is not None and offer.listing_id),
                            bought=bool(offer is not None and offer.bought_for_customer),
                            charge_failed=bool(offer is not None and offer.charge_failure))
    rendered = render_email("waitlist", settings, context)
    return log_and_enqueue(org, "waitlist", customer.email, rendered.subject, rendered.text, rendered.html,
                           {"event_id": event.id, "customer_id": customer.id, "state": state,
                            "entry_id": entry.id, "offer_id": offer.id if offer is not None else None})

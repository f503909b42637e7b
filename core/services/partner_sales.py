"""Partner sales (002's `tickets/create`): tickets a partner sold and was paid for itself, issued through the
booking service like any sale and recorded as source `partner`, paid outside Boxoffice, for an existing
attendee, a new one, or nobody in particular.

Adds no rule of its own: the event, visibility, sale window, order limits, holder requirements and capacity are
the booking service's checks for a customer's purchase; the payment is recorded like a box-office sale marked
paid (the booking's provider is the core's box-office method, its reference names the partner sale); the
attendee is `core.services.attendees`'. One write transaction: a refused sale leaves nothing behind (no
attendee, no booking). Never takes or moves money.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.config import current_config
from core.db import write_transaction
from core.models import Attendee, Org
from core.services import attendees, booking
from core.services.attendees import Contact
from core.services.booking import BookingResult, Buyer, PurchaseRequest

PARTNER_SOURCE = "partner"


@dataclass
class PartnerSale:
    """A partner sale's confirmed booking (lines and tickets) and the attendee its tickets went to (None:
    anonymous tickets)."""

    result: BookingResult
    attendee: Attendee | None


def _attendee(org: Org, attendee_id: str | None, contact: Contact | None) -> Attendee | None:
    """The attendee named by id (404 `attendee_not_found`), else the one `contact`'s e-mail finds or makes (its
    empty fields filled from the contact), else None."""
    if attendee_id is not None:
        return attendees.attendee(org, attendee_id)
    if contact is not None:
        return attendees.attendee_for(org, email=contact.email, first_name=contact.first_name,
                                      last_name=contact.last_name, phone=contact.phone, address=contact.address)
    return None


def partner_sale(org: Org, event_id: str, items: list[tuple[str, int]], *, attendee_id: str | None = None,
                 contact: Contact | None = None, by: str) -> PartnerSale:
    """Issue `items` (ticket type id, units) of the tenant's event as a confirmed `partner` booking, for the
    attendee `attendee_id`, or the one `contact` names (found by e-mail or made), or nobody (anonymous tickets,
    each sale its own anonymous attendee): free types at once, paid ones recorded as paid to the partner (`by`,
    the partner's API key). Every purchase check applies (404/409/422 as a purchase answers them)."""
    with write_transaction():
        attendee = _attendee(org, attendee_id, contact)
        name = " ".join(part for part in (attendee.first_name, attendee.last_name) if part) if attendee else ""
        request = PurchaseRequest(
            event_id=event_id, items=items, buyer=Buyer(email=(attendee.email or "") if attendee else "", name=name),
            staff=False, source=PARTNER_SOURCE, hold_minutes=org.hold_minutes or current_config().hold_minutes,
            paid_outside=True, attendee_id=attendee.id if attendee else None)
        result = booking.purchase(org, request)
        if result.booking.status != "confirmed":
            result = booking.mark_paid(org, result.booking.id, reference=f"partner:{result.booking.id}",
                                       note="Sold and paid through a partner", by=by)
    if attendee is not None:
        attendee = attendees.attendee(org, attendee.id)   # as the sale left it (confirmed)
    return PartnerSale(result, attendee)

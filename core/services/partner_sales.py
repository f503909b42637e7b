"""Partner sales (002's `tickets/create`): tickets a partner sold and was paid for itself, issued through the
booking service like any sale and recorded as source `partner`, paid outside Boxoffice.

Adds no rule of its own: the event, visibility, sale window, order limits, holder requirements and capacity are
the booking service's checks for a customer's purchase; the payment is recorded like a box-office sale marked
paid (the booking's provider is the core's box-office method, its reference names the partner sale). Never
takes or moves money.
"""

from __future__ import annotations

from core.config import current_config
from core.models import Org
from core.services import booking
from core.services.booking import BookingResult, Buyer, PurchaseRequest

PARTNER_SOURCE = "partner"


def partner_sale(org: Org, event_id: str, items: list[tuple[str, int]], buyer: Buyer, *, by: str) -> BookingResult:
    """Issue `items` (ticket type id, units) of the tenant's event to `buyer` (a blank buyer: anonymous tickets)
    as a confirmed `partner` booking: free types at once, paid ones recorded as paid to the partner (`by`, the
    partner's API key). Every purchase check applies (404/409/422 as a purchase answers them)."""
    request = PurchaseRequest(event_id=event_id, items=items, buyer=buyer, staff=False, source=PARTNER_SOURCE,
                              hold_minutes=org.hold_minutes or current_config().hold_minutes, paid_outside=True)
    result = booking.purchase(org, request)
    if result.booking.status == "confirmed":
        return result
    return booking.mark_paid(org, result.booking.id, reference=f"partner:{result.booking.id}",
                             note="Sold and paid through a partner", by=by)

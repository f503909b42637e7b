"""Automation: signed webhooks (`Boxoffice-Signature`, Stripe style) for the ticketing lifecycle.

Hooks only record and queue deliveries; jobs POST them with exponential backoff, up to a bounded number of
attempts, after which they are marked failed and can be replayed. Endpoints that resolve to special-purpose
addresses are refused (`addresses`); BOXOFFICE_WEBHOOKS_ALLOW_PRIVATE=1 opens private networks only.
"""

from __future__ import annotations

import functools
import logging

from core.hookspecs import hookimpl

log = logging.getLogger(__name__)


def _emits(event_type: str):
    """Turn a function building an event's `data` into a hook that emits it (the core's outbox runs it after
    the commit and retries it if it raises, so a failure here never breaks a sale)."""

    def decorator(build):
        @functools.wraps(build)
        def hook(*args, **kwargs):
            from plugins.automation import service  # noqa: F401 - declares the plugin's jobs

            org = args[0] if args else kwargs["org"]  # pluggy may pass arguments positionally, `org` first
            service.emit(org, event_type, build(*args, **kwargs))

        return hookimpl(hook)

    return decorator


@hookimpl
def register_models():
    """Tables `automation_endpoint` and `automation_delivery`."""
    from plugins.automation.models import Delivery, Endpoint

    return [Endpoint, Delivery]


@hookimpl
def register_routes(api, app):
    """Staff routes under /automation; importing the service declares its jobs in every process."""
    from plugins.automation import service  # noqa: F401 - declares the plugin's jobs
    from plugins.automation.api import blp

    api.register_blueprint(blp)


@_emits("event.published")
def event_published(org, event):
    """`event.published`: {event}."""
    from plugins.automation.service import event_data

    return {"event": event_data(event)}


def _bulk_data(event, job, summary) -> dict:
    """{event, jobId, summary} for the event-level refund/cancel webhooks."""
    from plugins.automation.service import event_data

    return {"event": event_data(event), "jobId": job.id, "summary": dict(summary)}


@_emits("event.refunded")
def event_refunded(org, event, job, summary):
    """`event.refunded`: {event, jobId, summary} (counts of the bulk refund job)."""
    return _bulk_data(event, job, summary)


@_emits("event.cancelled")
def event_cancelled(org, event, job, summary):
    """`event.cancelled`: {event, jobId, summary} (counts of the bulk cancel job)."""
    return _bulk_data(event, job, summary)


@_emits("booking.confirmed")
def booking_confirmed(org, booking):
    """`booking.confirmed`: {booking}."""
    from plugins.automation.service import booking_data

    return {"booking": booking_data(booking)}


@_emits("booking.expired")
def booking_expired(org, booking):
    """`booking.expired`: {booking}."""
    from plugins.automation.service import booking_data

    return {"booking": booking_data(booking)}


@_emits("tickets.issued")
def tickets_issued(org, booking, tickets):
    """`tickets.issued`: {bookingId, tickets}."""
    from plugins.automation.service import ticket_data

    return {"bookingId": booking.id if booking else None, "tickets": [ticket_data(t) for t in tickets]}


@_emits("ticket.transferred")
def ticket_transferred(org, old_ticket, new_ticket, transfer, claim_token):
    """`ticket.transferred`: {oldTicket, newTicket, transfer} (never the claim token)."""
    from plugins.automation.service import ticket_data

    return {"oldTicket": ticket_data(old_ticket), "newTicket": ticket_data(new_ticket),
            "transfer": {"id": transfer.id, "fromEmail": transfer.from_email, "toEmail": transfer.to_email,
                         "toName": transfer.to_name}}


@_emits("ticket.transferred")
def ticket_transferred_to_account(org, old_ticket, new_ticket, transfer):
    """`ticket.transferred` for a transfer by username: {oldTicket, newTicket, transfer} with `toCustomerId` (the
    account that owns the new ticket already)."""
    from plugins.automation.service import ticket_data

    return {"oldTicket": ticket_data(old_ticket), "newTicket": ticket_data(new_ticket),
            "transfer": {"id": transfer.id, "fromEmail": transfer.from_email, "toEmail": transfer.to_email,
                         "toName": transfer.to_name, "toCustomerId": transfer.claimed_by_id}}


@_emits("ticket.holder_changed")
def ticket_holder_changed(org, ticket, edit):
    """`ticket.holder_changed`: {ticket, edit: {id, previousHolderName, previousHolderEmail, fee, currency}}."""
    from plugins.automation.service import ticket_data

    return {"ticket": ticket_data(ticket),
            "edit": {"id": edit.id, "previousHolderName": edit.previous_name,
                     "previousHolderEmail": edit.previous_email, "fee": edit.fee, "currency": edit.currency}}


@_emits("ticket.checked_in")
def ticket_checked_in(org, ticket, checkin):
    """`ticket.checked_in`: {ticket, checkIn}."""
    from core.timefmt import iso_utc
    from plugins.automation.service import ticket_data

    return {"ticket": ticket_data(ticket),
            "checkIn": {"id": checkin.id, "scanPoint": checkin.scan_point, "result": checkin.result,
                        "at": iso_utc(checkin.created_at)}}


@_emits("checkin.conflict")
def door_conflict_detected(org, conflict):
    """`checkin.conflict`: {conflict, ticket}: offline doors admitted a ticket beyond its door rules."""
    from core.models import Ticket
    from core.services.door_conflicts import conflict_view
    from core.tenancy import get_scoped
    from plugins.automation.service import ticket_data

    return {"conflict": conflict_view(conflict), "ticket": ticket_data(get_scoped(Ticket, org, conflict.ticket_id))}


@_emits("ticket.cancelled")
def ticket_cancelled(org, ticket):
    """`ticket.cancelled`: {ticket}."""
    from plugins.automation.service import ticket_data

    return {"ticket": ticket_data(ticket)}


@_emits("ticket.refunded")
def ticket_refunded(org, ticket, refund):
    """`ticket.refunded`: {ticket, refund}."""
    from plugins.automation.service import ticket_data

    refund_view = None
    if refund is not None:
        refund_view = {"id": refund.id, "amount": refund.amount, "currency": refund.currency,
                       "bookingId": refund.booking_id}
    return {"ticket": ticket_data(ticket), "refund": refund_view}


@hookimpl
def waitlist_changed(org, entry, offer, state, checkout_url):
    """`waitlist.<state>` (joined, offered, accepted, lapsed, left): {entry, offer} (never the checkout link,
    which lets its holder pay for the customer's seats)."""
    from core.timefmt import iso_utc
    from plugins.automation import service

    offer_view = None
    if offer is not None:
        offer_view = {"id": offer.id, "status": offer.status, "seats": offer.seats,
                      "expiresAt": iso_utc(offer.expires_at), "bookingId": offer.booking_id,
                      "listingId": offer.listing_id}
    service.emit(org, f"waitlist.{state}", {
        "entry": {"id": entry.id, "eventId": entry.event_id, "ticketTypeId": entry.ticket_type_id,
                  "customerId": entry.customer_id, "seats": entry.seats, "status": entry.status},
        "offer": offer_view})


@hookimpl
def resale_listing_changed(org, listing, change):
    """`resale.listed`, `resale.withdrawn`, `resale.sold`: {listing: {id, eventId, ticketId, ticketTypeId, status,
    price, currency, fee, sellerAmount, endedReason, buyerTicketId, sellerRefundId}} (amounts in minor units)."""
    from plugins.automation import service

    service.emit(org, f"resale.{change}", {"listing": {
        "id": listing.id, "eventId": listing.event_id, "ticketId": listing.ticket_id,
        "ticketTypeId": listing.ticket_type_id, "status": listing.status, "price": listing.price,
        "currency": listing.currency, "fee": listing.fee, "sellerAmount": listing.seller_amount,
        "endedReason": listing.ended_reason, "buyerTicketId": listing.buyer_ticket,
        "sellerRefundId": listing.seller_refund}})

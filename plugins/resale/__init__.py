"""Sold out is not the end: a waiting list that offers (or buys) returned seats, and face-value resale of
tickets between fans, both on the core's holds, gateways, refunds and ticket issuing. Enabled per tenant.

The waiting list lives in `waitlist*.py`, resale listings in `listing*.py`; this module only wires them to
the core's hooks.
"""

from __future__ import annotations

from core.hookspecs import hookimpl

RESALE_AUDIT_ACTIONS = {
    "resale.terms_changed": "An event's resale terms changed (on or off, price cap, fee, comps)",
    "resale.listed": "A holder listed a ticket for resale",
    "resale.withdrawn": "A resale listing was withdrawn (by its holder, or its ticket was scanned, refunded or moved)",
    "resale.sold": "A resale listing was sold: the seller's ticket revoked, the buyer's issued, the seller refunded",
    "resale.refused": "A paid resale purchase was refused (the listing had gone) and the buyer refunded",
}


@hookimpl
def register_models():
    """The waiting list's tables (`resale_waitlist_entry`, `resale_waitlist_offer`) and the resale listing
    tables (`resale_terms`, `resale_listings`, `resale_purchases`)."""
    from plugins.resale.listing_models import LISTING_MODELS
    from plugins.resale.waitlist_models import WaitlistEntry, WaitlistOffer

    return [WaitlistEntry, WaitlistOffer, *LISTING_MODELS]


@hookimpl
def register_routes(api, app):
    """The waiting list's customer and staff routes (importing the offers declares their jobs in every
    process); staff resale terms and report, the holder's listing routes, the buyers' routes and the listing
    checkout page and the waiting-list page of the attendee pages (`/e/<org>/resale/<listing id>`,
    `/e/<org>/waitlist/<ticket type id>`)."""
    from plugins.resale import waitlist_offers  # noqa: F401 - declares the plugin's jobs
    from plugins.resale.listing_api import blp as listing_blp
    from plugins.resale.listing_pages import register_pages
    from plugins.resale.waitlist_api import blp as waitlist_blp
    from plugins.resale.waitlist_pages import register_pages as register_waitlist_pages

    api.register_blueprint(waitlist_blp)
    api.register_blueprint(listing_blp)
    register_pages(app)
    register_waitlist_pages()


@hookimpl
def register_audit_actions():
    """What the resale listings record in the audit log."""
    return dict(RESALE_AUDIT_ACTIONS)


@hookimpl
def event_page_offers(org, event):
    """The event page shows the listings on public sale beside their ticket types, and a sold-out type's waiting
    list."""
    from plugins.resale.listing_pages import event_page_offers as offers
    from plugins.resale.waitlist_pages import event_page_offers as waitlists

    found = waitlists(org, event)
    for type_id, listed in offers(org, event).items():
        found[type_id] = listed + found.get(type_id, [])
    return found


@hookimpl
def price_booking(org, quote, promo_code, customer, extras):
    """A waiting-list offer's booking claims its entry; any other purchase is refused while the seats it would
    take are owed to the waiting list. A booking that buys a resale listing costs its price and reserves it."""
    from plugins.resale import waitlist_offers
    from plugins.resale.listing_sale import price_resale

    waitlist_offers.guard_quote(org, quote, extras)
    price_resale(org, quote, customer, extras)


@hookimpl
def booking_confirmed(org, booking):
    """A waiting-list offer was paid: its entry is accepted. A paid booking that buys a listing completes (or
    refuses) the sale, exactly once."""
    from plugins.resale import waitlist_offers

    waitlist_offers.booking_confirmed(org, booking)
    if booking.source == "resale":
        from plugins.resale.listing_sale import complete_sale

        complete_sale(org, booking.id)


@hookimpl
def booking_expired(org, booking):
    """An offer's hold lapsed (it passes on), and any expired hold's seats go to the waiting list first; an
    unpaid resale booking's hold ran out: the listing it reserved is free for the next buyer."""
    from plugins.resale import waitlist_offers

    waitlist_offers.booking_expired(org, booking)
    if booking.source == "resale":
        from plugins.resale.listing_sale import release_expired

        release_expired(org, booking.id)


@hookimpl
def ticket_checked_in(org, ticket, checkin):
    """A listed ticket scanned at the door is withdrawn, never sold."""
    from plugins.resale.listings import withdraw_for_ticket

    withdraw_for_ticket(org, ticket.id, "checked_in")


@hookimpl
def ticket_refunded(org, ticket, refund):
    """A refunded ticket's listing is withdrawn, and its seats go to the waiting list first."""
    from plugins.resale import waitlist_offers
    from plugins.resale.listings import withdraw_for_ticket

    withdraw_for_ticket(org, ticket.id, "refunded")
    waitlist_offers.queue_offers(org, [ticket.ticket_type_id])


@hookimpl
def ticket_cancelled(org, ticket):
    """A cancelled ticket's listing is withdrawn, and its seats go to the waiting list first."""
    from plugins.resale import waitlist_offers
    from plugins.resale.listings import withdraw_for_ticket

    withdraw_for_ticket(org, ticket.id, "cancelled")
    waitlist_offers.queue_offers(org, [ticket.ticket_type_id])


@hookimpl
def ticket_type_saved(org, ticket_type, created):
    """Staff may have raised the capacity: free seats go to the waiting list first."""
    from plugins.resale import waitlist_offers

    if not created:
        waitlist_offers.queue_offers(org, [ticket_type.id])


@hookimpl
def event_capacity_raised(org, event):
    """Staff raised the event's capacity: free seats of its types go to the waiting list first."""
    from plugins.resale import waitlist_offers

    waitlist_offers.queue_event_offers(org, event.id)


@hookimpl
def ticket_transferred(org, old_ticket, new_ticket, transfer, claim_token):
    """A ticket given away by its holder is no longer theirs to sell: its listing is withdrawn."""
    from plugins.resale.listings import withdraw_for_ticket

    withdraw_for_ticket(org, old_ticket.id, "transferred")


@hookimpl
def ticket_transferred_to_account(org, old_ticket, new_ticket, transfer):
    """As `ticket_transferred`, for a transfer by username."""
    from plugins.resale.listings import withdraw_for_ticket

    withdraw_for_ticket(org, old_ticket.id, "transferred")

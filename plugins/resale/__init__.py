"""Sold out is not the end: a waiting list that offers (or buys) returned seats, and face-value resale of
tickets between fans, both on the core's holds, gateways, refunds and ticket issuing. Enabled per tenant.

The waiting list lives in `waitlist*.py`, resale listings in `listing*.py`; this module only wires them to
the core's hooks.
"""

from __future__ import annotations

from core.hookspecs import hookimpl


@hookimpl
def register_models():
    """The waiting list's tables (`resale_waitlist_entry`, `resale_waitlist_offer`)."""
    from plugins.resale.waitlist_models import WaitlistEntry, WaitlistOffer

    return [WaitlistEntry, WaitlistOffer]


@hookimpl
def register_routes(api, app):
    """The waiting list's customer and staff routes; importing the offers declares their jobs in every process."""
    from plugins.resale import waitlist_offers  # noqa: F401 - declares the plugin's jobs
    from plugins.resale.waitlist_api import blp

    api.register_blueprint(blp)


@hookimpl
def price_booking(org, quote, promo_code, customer, extras):
    """A waiting-list offer's booking claims its entry; any other purchase is refused while the seats it would
    take are owed to the waiting list."""
    from plugins.resale import waitlist_offers

    waitlist_offers.guard_quote(org, quote, extras)


@hookimpl
def booking_expired(org, booking):
    """An offer's hold lapsed (it passes on), and any expired hold's seats go to the waiting list first."""
    from plugins.resale import waitlist_offers

    waitlist_offers.booking_expired(org, booking)


@hookimpl
def booking_confirmed(org, booking):
    """A waiting-list offer was paid: its entry is accepted."""
    from plugins.resale import waitlist_offers

    waitlist_offers.booking_confirmed(org, booking)


@hookimpl
def ticket_refunded(org, ticket, refund):
    """A refunded ticket's seats go to the waiting list first."""
    from plugins.resale import waitlist_offers

    waitlist_offers.queue_offers(org, [ticket.ticket_type_id])


@hookimpl
def ticket_cancelled(org, ticket):
    """A cancelled ticket's seats go to the waiting list first."""
    from plugins.resale import waitlist_offers

    waitlist_offers.queue_offers(org, [ticket.ticket_type_id])


@hookimpl
def ticket_type_saved(org, ticket_type, created):
    """Staff may have raised the capacity: free seats go to the waiting list first."""
    from plugins.resale import waitlist_offers

    if not created:
        waitlist_offers.queue_offers(org, [ticket_type.id])

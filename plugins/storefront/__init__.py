"""Storefront: ticket types mirrored as product variants, merchandise, promotions, taxes, gift cards, orders.

Off unless a tenant enables it. Never moves seat counters (the core owns them) and never overdraws a promotion
or a gift card: claims are conditional UPDATEs inside the booking's own write transaction.
"""

from __future__ import annotations

import functools
import logging

from core.hookspecs import hookimpl
from plugins.storefront import catalog, orders  # noqa: F401 - declares the backfill and reconcile jobs

log = logging.getLogger(__name__)


def _logged(fn):
    """A lifecycle hook that logs its own failure, so the other plugins' hooks still run."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            fn(*args, **kwargs)
        except Exception:  # noqa: BLE001 - the reconcile job settles what a failed hook left
            log.exception("storefront: %s hook failed", fn.__name__)

    return wrapper


@hookimpl
def register_models():
    """The storefront tables (`storefront_*`)."""
    from plugins.storefront.models import STOREFRONT_MODELS

    return STOREFRONT_MODELS


@hookimpl
def register_routes(api, app):
    """Staff routes under /storefront and customer routes under /client/store."""
    from plugins.storefront.api import blp
    from plugins.storefront.client_api import client_blp

    api.register_blueprint(blp)
    api.register_blueprint(client_blp)


@hookimpl
def register_migrations():
    """Version 2: variants' numeric `public_id` (column, backfill of existing rows, unique index)."""
    from core.migrations import Migration, ensure_public_ids
    from plugins.storefront.models import Variant

    return [Migration("storefront", 2, "variant_public_ids", lambda: ensure_public_ids(Variant))]


@hookimpl
def register_commands(cli):
    """`boxoffice storefront backfill ORG`."""
    from plugins.storefront.cli import storefront_group

    cli.add_command(storefront_group)


@hookimpl
def takes_promo_codes(org) -> bool:
    """The storefront's `price_booking` takes promotion (and gift-card) codes."""
    return True


@hookimpl
def price_booking(org, quote, promo_code, customer, extras):
    """Merch lines (from the checkout's `extras`), then the promotion, then taxes, then gift cards;
    422 `invalid_promo_code` for a bad code."""
    from plugins.storefront.checkout import price_booking as price

    price(org, quote, promo_code, customer, extras)


@hookimpl
@_logged
def ticket_type_saved(org, ticket_type, created):
    """Create or update the ticket type's product and variant."""
    catalog.mirror_ticket_type(org.id, ticket_type)


@hookimpl
@_logged
def ticket_type_deleted(org, ticket_type):
    """Archive the ticket type's product and variant (kept for order history)."""
    catalog.archive_mirror(org.id, ticket_type.id)


@hookimpl
def ticket_type_variant_ids(org, ticket_type_ids):
    """The numeric ids of the variants mirroring the tenant's `ticket_type_ids` (one query)."""
    return catalog.variant_public_ids(org.id, ticket_type_ids)


@hookimpl
@_logged
def booking_confirmed(org, booking):
    """The order is paid; its held merchandise becomes sold."""
    orders.mark_paid(booking)


@hookimpl
@_logged
def booking_expired(org, booking):
    """The hold ran out: give back merch stock, the promotion use and gift-card balance."""
    orders.release_unpaid(booking.org_id, booking.id)


@hookimpl
@_logged
def ticket_refunded(org, ticket, refund):
    """Refund the ticket's order line; a fully refunded booking gives back its claims."""
    orders.record_ticket_refund(ticket)


@hookimpl
@_logged
def ticket_cancelled(org, ticket):
    """A fully cancelled booking cancels its order and frees its promotion use."""
    orders.record_cancellation(ticket)

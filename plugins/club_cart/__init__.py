"""004's club ticketing API: a member's cart of showings' tickets, checkout into one core booking per showing
(free tickets at once, paid ones through the `cybersource` hosted page and its callback), a member's tickets,
QR, officers' attendance and transfer to a username, at /api/tickets/... with DRF-style trailing slashes.

Off unless a tenant enables it. Holds, prices, issues and checks in nothing itself: the core's services do.
"""

from __future__ import annotations

from core.hookspecs import hookimpl


@hookimpl
def register_models() -> list:
    """The cart tables (`club_cart_*`)."""
    from plugins.club_cart.models import CLUB_CART_MODELS

    return CLUB_CART_MODELS


@hookimpl
def register_migrations() -> list:
    """Version 2: the checkout groups of several-showing checkouts (`club_cart_checkout_group`) and the cart's
    `checkout_group_id` (both idempotent: a new install has them from version 1)."""
    from core.db import db
    from core.migrations import Migration, ensure_columns
    from plugins.club_cart.models import Cart, CheckoutGroup

    def apply() -> None:
        db.create_tables([CheckoutGroup], safe=True)
        ensure_columns(Cart, "checkout_group_id")

    return [Migration("club_cart", 2, "checkout_groups", apply)]


@hookimpl
def register_routes(api, app) -> None:
    """004's routes under /tickets/ (served at /api/tickets/ as every route is), and the payment callback."""
    from plugins.club_cart.api import blp, callback_blp

    api.register_blueprint(blp)
    api.register_blueprint(callback_blp)


@hookimpl
def booking_confirmed(org, booking) -> None:
    """A cart checkout's booking was confirmed: what it bought leaves the member's cart."""
    from plugins.club_cart.checkout import settle_confirmed

    settle_confirmed(org, booking)

"""The club cart plugin's tables (prefixed `club_cart_`): a customer's cart and its lines.

Columns only; the cart's rules live in `plugins.club_cart.service`. Seats are never counted here: a cart line
holds nothing until checkout, where the core's booking service holds the seats.
"""

from __future__ import annotations

from peewee import CharField, IntegerField

from core.models import TenantModel


class Cart(TenantModel):
    """One customer's cart. `version` changes whenever what a checkout would buy changes (a line added or
    removed, a checkout settled), and keys the checkout's idempotency; `checkout_booking_id` is the booking
    the last checkout of this cart made (pending while its payment runs)."""

    customer_id = CharField(max_length=36)
    version = IntegerField(default=1)
    checkout_booking_id = CharField(max_length=36, null=True)

    class Meta:
        table_name = "club_cart_cart"
        indexes = ((("org", "customer_id"), True), (("checkout_booking_id",), False))


class CartLine(TenantModel):
    """`count` tickets of one ticket type of one showing (an event id: a date event, a session of a parent, or
    a generated date of a recurring event) in a customer's cart."""

    customer_id = CharField(max_length=36)
    showing_id = CharField(max_length=36)
    ticket_type_id = CharField(max_length=36)
    count = IntegerField()

    class Meta:
        table_name = "club_cart_line"
        indexes = ((("org", "customer_id", "ticket_type_id"), True),)


CLUB_CART_MODELS = [Cart, CartLine]

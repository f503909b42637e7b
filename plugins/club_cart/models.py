"""The club cart plugin's tables (prefixed `club_cart_`): a customer's cart, its lines, and the checkout groups
that tie the bookings of a several-showing checkout together.

Columns only; the cart's rules live in `plugins.club_cart.service`. Seats are never counted here: a cart line
holds nothing until checkout, where the core's booking service holds the seats.
"""

from __future__ import annotations

from peewee import CharField, IntegerField

from core.models import JSONField, TenantModel


class Cart(TenantModel):
    """One customer's cart. `version` changes whenever what a checkout would buy changes (a line added or
    removed, a checkout settled), and keys the checkout's idempotency; `checkout_booking_id` is the booking
    the last checkout of this cart made (pending while its payment runs), or `checkout_group_id` the checkout
    group when that checkout held several showings (one booking each, paid together)."""

    customer_id = CharField(max_length=36)
    version = IntegerField(default=1)
    checkout_booking_id = CharField(max_length=36, null=True)
    checkout_group_id = CharField(max_length=36, null=True)

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


class CheckoutGroup(TenantModel):
    """The bookings (one per showing) a checkout of a several-showing cart made, paid by one payment whose
    reference is this group's id: the member, the booking ids (`paid_booking_ids` those the payment is for:
    a free showing's booking is confirmed at checkout), what the paid ones cost together (`amount` in minor
    units of `currency`) and the cart version the checkout was made from."""

    customer_id = CharField(max_length=36)
    booking_ids = JSONField(default=list)
    paid_booking_ids = JSONField(default=list)
    amount = IntegerField(default=0)
    currency = CharField(max_length=3)
    cart_version = IntegerField()

    class Meta:
        table_name = "club_cart_checkout_group"
        indexes = ((("org", "customer_id"), False),)


CLUB_CART_MODELS = [Cart, CartLine, CheckoutGroup]

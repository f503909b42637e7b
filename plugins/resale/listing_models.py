"""The resale plugin's tables for face-value resale: an event's resale terms and the listings of its tickets.

Columns only (version 1 of the `resale` migrations creates them); every rule lives in `listings.py` and
`listing_sale.py`. Money is integer minor units of the listing's currency.
"""

from __future__ import annotations

from peewee import BooleanField, CharField, IntegerField

from core.models import Event, TenantModel, Ticket
from core.models.base import DateTimeField, ForeignKeyField, JSONField


class ResaleTerms(TenantModel):
    """Staff's resale terms for one event: on or off, the price cap, the fee and whether comps may be listed."""

    event = ForeignKeyField(Event, column_name="event_id", on_delete="CASCADE")
    enabled = BooleanField(default=False)
    price_cap = IntegerField(null=True)
    """The highest price any listing may ask (minor units); null: face value. A ticket is further capped at
    what its seller paid for it."""
    fee_fixed = IntegerField(default=0)
    """Kept from every sale before the seller is paid back (minor units)."""
    fee_percent_bp = IntegerField(default=0)
    """Plus this share of the sale price, in basis points (250 = 2.5 %), rounded half up."""
    allow_comps = BooleanField(default=False)
    """Comp and partner-issued tickets may be listed (their sale brings the seller nothing)."""

    class Meta:
        table_name = "resale_terms"
        indexes = ((("org", "event"), True),)


class ResaleListing(TenantModel):
    """A ticket its holder offers for resale, from listing to sale or withdrawal.

    `status`: `offered` (waiting-list customers first), `listed` (on public sale), `sold` or `withdrawn`.
    A buyer's unpaid booking reserves it (`reserved_booking`, until `reserved_until`); the sale happens when that
    booking is paid (`listing_sale.complete_sale`).
    """

    event = ForeignKeyField(Event, column_name="event_id", on_delete="CASCADE")
    ticket = ForeignKeyField(Ticket, column_name="ticket_id", on_delete="CASCADE")
    ticket_type_id = CharField(max_length=36)
    seller_id = CharField(max_length=36)
    """The seller's customer id."""
    live_ticket = CharField(max_length=36, null=True, unique=True)
    """The ticket id while the listing is live (offered or listed), null once it ended: one live listing per
    ticket, kept by the unique index."""
    status = CharField(max_length=16, default="listed")
    price = IntegerField()
    currency = CharField(max_length=3)
    fee = IntegerField(default=0)
    seller_amount = IntegerField(default=0)
    """What the sale pays the seller back (price - fee, or 0 for a comp or partner ticket)."""
    origin = CharField(max_length=16, default="paid")
    """`paid` (refunded through the seller's booking) or `comp` (comp or partner-issued: nothing back)."""
    reserved_booking = CharField(max_length=36, null=True)
    reserved_until = DateTimeField(null=True)
    buyer_booking = CharField(max_length=36, null=True)
    buyer_ticket = CharField(max_length=36, null=True)
    buyer_id = CharField(max_length=36, null=True)
    seller_refund = CharField(max_length=36, null=True)
    """The seller's Refund (pending, succeeded, owed: paid out by hand)."""
    ended_reason = CharField(max_length=32, null=True)
    """Why a listing was withdrawn (`holder`, `checked_in`, `refunded`, `cancelled`, `transferred`, `staff`)."""
    sold_at = DateTimeField(null=True)
    ended_at = DateTimeField(null=True)
    data = JSONField(default=dict)

    class Meta:
        table_name = "resale_listings"
        indexes = ((("org", "event", "status"), False), (("org", "ticket"), False),
                   (("org", "reserved_booking"), False))


class ResalePurchase(TenantModel):
    """One buyer's purchase of a listing: their booking (paid through the core like any sale) and what became
    of it: `pending` until paid, then `sold` or `refused` (the listing was gone: the buyer is refunded)."""

    listing = ForeignKeyField(ResaleListing, column_name="listing_id", on_delete="CASCADE")
    booking_id = CharField(max_length=36, unique=True)
    buyer_id = CharField(max_length=36)
    status = CharField(max_length=16, default="pending")
    refund_id = CharField(max_length=36, null=True)
    reason = CharField(max_length=32, null=True)
    settled_at = DateTimeField(null=True)

    class Meta:
        table_name = "resale_purchases"
        indexes = ((("org", "listing"), False),)


LISTING_MODELS = [ResaleTerms, ResaleListing, ResalePurchase]

"""The waiting list's tables: who waits for which sold-out ticket type, and the offers made to them.

Columns only; `plugins.resale.waitlist` changes them, each state change by a conditional UPDATE on the row's
current status (never read-then-write).
"""

from __future__ import annotations

from peewee import BooleanField, CharField, IntegerField

from core.models import Booking, Customer, Event, TenantModel, TicketType
from core.models.base import DateTimeField, ForeignKeyField

ENTRY_STATES = ("waiting", "offered", "accepted", "lapsed", "left")
"""waiting (in line) -> offered (seats held or a listing reserved for them) -> accepted (paid) | lapsed (the offer
ran out); `left` from waiting or offered. An entry that ended may join again, at the back of the line."""
OFFER_STATES = ("offered", "accepted", "lapsed", "withdrawn")


class WaitlistEntry(TenantModel):
    """One customer waiting for `seats` seats of one ticket type; the line is ordered by `joined_at`, then id."""

    event = ForeignKeyField(Event, on_delete="CASCADE")
    ticket_type = ForeignKeyField(TicketType, on_delete="CASCADE")
    customer = ForeignKeyField(Customer, on_delete="CASCADE")
    seats = IntegerField()
    status = CharField(max_length=16, default="waiting")
    joined_at = DateTimeField()
    buy_for_me = BooleanField(default=False)
    """The customer consented to be charged on offer with the method saved through `setup_ref` ("buy for me")."""
    payment_gateway = CharField(max_length=40, null=True)
    setup_ref = CharField(max_length=120, null=True)

    class Meta:
        table_name = "resale_waitlist_entry"
        indexes = ((("org", "ticket_type", "customer"), True),
                   (("org", "ticket_type", "status", "joined_at"), False),
                   (("org", "event", "joined_at"), False))


class WaitlistOffer(TenantModel):
    """Seats offered to an entry: a pending booking holding them (`booking`), or a resale listing reserved for
    them (`listing_id`, no core seats held), until `expires_at`."""

    entry = ForeignKeyField(WaitlistEntry, on_delete="CASCADE")
    event = ForeignKeyField(Event, on_delete="CASCADE")
    ticket_type = ForeignKeyField(TicketType, on_delete="CASCADE")
    customer = ForeignKeyField(Customer, on_delete="CASCADE")
    seats = IntegerField()
    booking = ForeignKeyField(Booking, null=True, on_delete="SET NULL")
    listing_id = CharField(max_length=36, null=True)
    status = CharField(max_length=16, default="offered")
    expires_at = DateTimeField()
    settled_at = DateTimeField(null=True)
    bought_for_customer = BooleanField(default=False)
    """Paid off-session with the entry's saved method ("buy for me"), the customer away."""
    charge_failure = CharField(max_length=60, null=True)
    """Why buying for the customer failed (the provider's code, e.g. `card_declined`): a normal offer instead."""

    class Meta:
        table_name = "resale_waitlist_offer"
        indexes = ((("org", "booking"), False), (("org", "listing_id", "status"), False),
                   (("org", "event", "created_at"), False), (("status", "expires_at"), False))

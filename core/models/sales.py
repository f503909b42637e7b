"""Sales records: bookings (orders) with lines, payments and refunds, issued tickets, scans, transfers.

States change only through conditional UPDATEs in `core.services`; these classes hold columns only.
"""

from __future__ import annotations

from peewee import (
    BooleanField,
    CharField,
    IntegerField,
    TextField,
)

from core.models.attendees import Attendee
from core.models.base import DateTimeField, ForeignKeyField, JSONField
from core.models.catalog import Event, TicketType
from core.models.customer import Customer
from core.models.tenant import Org, TenantModel

BOOKING_STATES = ("pending", "confirmed", "expired", "cancelled", "refunded", "partially_refunded")
TICKET_STATES = ("pending_activation", "valid", "checked_in", "cancelled", "refunded", "transferred")


class Booking(TenantModel):
    """An order: seats held while pending, tickets issued once confirmed. Amounts in minor units."""

    event = ForeignKeyField(Event, column_name="event_id", on_delete="CASCADE")
    customer = ForeignKeyField(Customer, null=True, column_name="customer_id", on_delete="SET NULL")
    email = CharField(max_length=254, default="")
    name = CharField(max_length=200, default="")
    # The attendee its tickets go to when chosen up front (a partner's participant, `core.services.partner_sales`);
    # null: found from the buyer's (and each holder's) e-mail and name when they are issued. Migration 21.
    attendee_id = CharField(max_length=36, null=True)
    status = CharField(max_length=24, default="pending")
    source = CharField(max_length=16, default="online")
    gateway = CharField(max_length=64, default="free")
    payment_ref = CharField(max_length=255, null=True)
    payment_data = JSONField(default=dict)
    currency = CharField(max_length=3, default="USD")
    subtotal = IntegerField(default=0)
    fees = IntegerField(default=0)
    adjustments = IntegerField(default=0)
    amount = IntegerField(default=0)
    refunded_amount = IntegerField(default=0)
    seats = IntegerField(default=0)
    promo_code = CharField(max_length=100, null=True)
    note = TextField(default="")
    expires_at = DateTimeField(null=True)
    confirmed_at = DateTimeField(null=True)
    seats_released = BooleanField(default=False)

    class Meta:
        indexes = (
            (("org", "status", "expires_at"), False),
            (("org", "customer", "created_at"), False),
        )


class BookingLine(TenantModel):
    """One line of a booking: a ticket type x units, or a priced adjustment added by a plugin."""

    booking = ForeignKeyField(Booking, backref="lines", column_name="booking_id", on_delete="CASCADE")
    kind = CharField(max_length=24, default="ticket")
    ticket_type = ForeignKeyField(TicketType, null=True, column_name="ticket_type_id", on_delete="SET NULL")
    description = CharField(max_length=300, default="")
    quantity = IntegerField(default=1)
    seats = IntegerField(default=0)
    unit_price = IntegerField(default=0)
    unit_fee = IntegerField(default=0)
    total = IntegerField(default=0)
    data = JSONField(default=dict)


class Payment(TenantModel):
    """A payment attempt against a booking through one gateway (pending, succeeded, failed)."""

    booking = ForeignKeyField(Booking, backref="payments", column_name="booking_id", on_delete="CASCADE")
    gateway = CharField(max_length=64)
    reference = CharField(max_length=255, null=True)
    amount = IntegerField()
    currency = CharField(max_length=3)
    status = CharField(max_length=16, default="pending")
    data = JSONField(default=dict)


class Refund(TenantModel):
    """Money returned for a booking (all of it or part), through the gateway that took it."""

    booking = ForeignKeyField(Booking, backref="refunds", column_name="booking_id", on_delete="CASCADE")
    gateway = CharField(max_length=64)
    reference = CharField(max_length=255, null=True)
    amount = IntegerField()
    currency = CharField(max_length=3)
    status = CharField(max_length=16, default="pending")
    reason = TextField(default="")
    ticket_ids = JSONField(default=list)
    data = JSONField(default=dict)


class Ticket(TenantModel):
    """An issued ticket. `secret_version` is signed into the QR; bumping it revokes every old QR.

    Indexes are kept few and off the columns a check-in changes (status, scan counters), so on PostgreSQL an
    admission is a HOT update that touches no index (see migration 3).
    """

    org = ForeignKeyField(Org, column_name="org_id", on_delete="CASCADE", index=False)  # (org, ...) indexes cover it
    event = ForeignKeyField(Event, column_name="event_id", on_delete="CASCADE")
    ticket_type = ForeignKeyField(TicketType, column_name="ticket_type_id", on_delete="CASCADE")
    booking = ForeignKeyField(Booking, null=True, backref="tickets", column_name="booking_id",
                              on_delete="SET NULL")
    customer = ForeignKeyField(Customer, null=True, column_name="customer_id", on_delete="SET NULL")
    holder_email = CharField(max_length=254, default="")
    holder_name = CharField(max_length=200, default="")
    status = CharField(max_length=24, default="valid")
    source = CharField(max_length=16, default="online")
    seats = IntegerField(default=1)
    price_paid = IntegerField(default=0)
    secret_version = IntegerField(default=1)
    scan_count = IntegerField(default=0)
    first_scanned_at = DateTimeField(null=True)
    last_scanned_at = DateTimeField(null=True)
    last_scan_point = CharField(max_length=100, null=True)
    transferred_from = ForeignKeyField("self", null=True, column_name="transferred_from_id",
                                       on_delete="SET NULL")
    note = TextField(default="")
    data = JSONField(default=dict)
    list_id = CharField(max_length=36, null=True)  # staff moved it to this event list; null: its type's list
    # Who holds it (`core.services.attendees`); null for a pre-generated ticket until it is activated.
    attendee = ForeignKeyField(Attendee, null=True, column_name="attendee_id", on_delete="SET NULL")

    class Meta:
        indexes = (
            (("org", "event"), False),
            (("org", "customer"), False),
            (("org", "holder_email"), False),
        )


class CheckIn(TenantModel):
    """One scan at the door: which ticket, where, by whom, and the result (admitted or why not).

    An append-only log whose ids are copied from the ticket row by the statement that writes it; on
    PostgreSQL it keeps no foreign-key constraints (migration 4), so a deleted event's rows are deleted with
    it by `checkin.forget_scans`.
    """

    ticket = ForeignKeyField(Ticket, backref="checkins", column_name="ticket_id", on_delete="CASCADE")
    event = ForeignKeyField(Event, column_name="event_id", on_delete="CASCADE")
    scan_point = CharField(max_length=100, null=True)
    result = CharField(max_length=32)
    staff = CharField(max_length=254, null=True)
    note = CharField(max_length=500, null=True)  # why, for an entry staff wrote by hand (an undone check-in)
    # An offline scan a door device uploaded (migration 29): its own id (unique per tenant: an upload retried
    # records nothing twice), the device, and when the device scanned it (its clock). Null for online scans.
    scan_id = CharField(max_length=36, null=True)
    device_id = CharField(max_length=36, null=True)
    scanned_at = DateTimeField(null=True)


# One row per uploaded scan id and tenant; online scans (no scan id) stay out of the index (migration 29).
SCAN_ID_INDEX = CheckIn.index(CheckIn.org, CheckIn.scan_id, unique=True, name="checkin_org_scan_id").where(
    CheckIn.scan_id.is_null(False))
CheckIn.add_index(SCAN_ID_INDEX)


class Transfer(TenantModel):
    """A ticket handed to someone else: old ticket revoked, new one issued, claimed with a token."""

    ticket = ForeignKeyField(Ticket, column_name="ticket_id", on_delete="CASCADE")
    new_ticket = ForeignKeyField(Ticket, column_name="new_ticket_id", on_delete="CASCADE")
    from_email = CharField(max_length=254, default="")
    to_email = CharField(max_length=254)
    to_name = CharField(max_length=200, default="")
    claim_token_hash = CharField(max_length=64, unique=True)
    claimed_at = DateTimeField(null=True)
    claimed_by = ForeignKeyField(Customer, null=True, column_name="claimed_by_id", on_delete="SET NULL")
    expires_at = DateTimeField(null=True)


class IdempotencyRecord(TenantModel):
    """The stored first response of a POST sent with an Idempotency-Key, replayed for repeats.

    While the request runs (`status_code` NULL): `attempt` names the run that holds the key (a crashed run's
    key is taken over after the takeover time), `recovery_point` and `recovery_data` say how far its work got
    in committed phases, so a retry resumes there instead of starting again.
    """

    key = CharField(max_length=255)
    endpoint = CharField(max_length=200)
    request_hash = CharField(max_length=64)
    status_code = IntegerField(null=True)
    response_body = TextField(null=True)
    attempt = CharField(max_length=32, null=True)
    recovery_point = CharField(max_length=40, null=True)
    recovery_data = JSONField(null=True)

    class Meta:
        indexes = ((("org", "endpoint", "key"), True),)

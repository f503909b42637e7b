"""Holder edits of an issued ticket: the new holder name and e-mail, the change fee and its payment.

Columns only; `core.services.ticket_edits` owns every rule and moves `status` with conditional UPDATEs.
"""

from __future__ import annotations

from peewee import CharField, IntegerField

from core.models.base import DateTimeField, ForeignKeyField, JSONField
from core.models.sales import Booking, Ticket
from core.models.tenant import TenantModel

TICKET_EDIT_STATES = ("pending", "applied", "not_applied")


class TicketEdit(TenantModel):
    """A customer's change of a ticket's holder: `pending` while its change fee is unpaid, `applied` once
    (free, or paid and confirmed), `not_applied` when the fee was paid after the ticket stopped being valid.

    `fee` is in minor units of `currency`, paid through `gateway` as the provider payment `payment_ref`; the
    provider's client data (it may hold a live secret) is kept sealed in `payment_data["payment"]`.
    """

    ticket = ForeignKeyField(Ticket, backref="edits", column_name="ticket_id", on_delete="CASCADE")
    booking = ForeignKeyField(Booking, null=True, column_name="booking_id", on_delete="SET NULL")
    holder_name = CharField(max_length=200)
    holder_email = CharField(max_length=254)
    previous_name = CharField(max_length=200, default="")
    previous_email = CharField(max_length=254, default="")
    fee = IntegerField(default=0)
    currency = CharField(max_length=3, default="USD")
    gateway = CharField(max_length=64, default="free")
    status = CharField(max_length=16, default="pending")
    payment_ref = CharField(max_length=255, null=True)
    payment_data = JSONField(default=dict)
    applied_at = DateTimeField(null=True)

    class Meta:
        indexes = ((("org", "ticket", "created_at"), False),)

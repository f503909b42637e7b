"""Barcode pools: the staff-uploaded codes a ticket configuration's tickets take, each at most once.

Columns only; the rules (upload, reservation, taking a code at issue, the door's lookup) live in
`core.services.barcode_pools`.
"""

from __future__ import annotations

from peewee import CharField

from core.models.base import DateTimeField, ForeignKeyField
from core.models.catalog import TicketConfiguration
from core.models.sales import Booking, Ticket
from core.models.tenant import TenantModel


class BarcodePoolCode(TenantModel):
    """One code of a configuration's pool: free, reserved by `booking` while that booking's hold lasts
    (pending, before its `expires_at`), or used by `ticket` (since `used_at`). A code is unique within its
    tenant (`(org, code)`), which is also the door's index: a scanned code is found with one indexed lookup."""

    configuration = ForeignKeyField(TicketConfiguration, column_name="ticket_configuration_id",
                                    on_delete="CASCADE", index=False)  # (configuration, ticket) covers it
    code = CharField(max_length=128)
    booking = ForeignKeyField(Booking, null=True, column_name="booking_id", on_delete="SET NULL")
    ticket = ForeignKeyField(Ticket, null=True, column_name="ticket_id", on_delete="SET NULL")
    used_at = DateTimeField(null=True)

    class Meta:
        indexes = (
            (("org", "code"), True),
            (("configuration", "ticket"), False),
        )

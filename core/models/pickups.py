"""Pickups (003): things a ticket holder collects at the event ("T-shirt", "Drink token").

A pickup type is a tenant record; a registration type (the core's `TicketType`) lists the pickups each of its
tickets carries; an issued ticket has its own rows, copied when it is issued, so later edits of the
registration type never change what a sold ticket carries. Collection is one conditional UPDATE
(`core.services.pickups`); nothing here decides a rule.
"""

from __future__ import annotations

from peewee import CharField, IntegerField, TextField

from core.models.base import DateTimeField, ForeignKeyField
from core.models.catalog import PublicIdModel, TicketType
from core.models.sales import Ticket
from core.models.tenant import TenantModel


class PickupType(PublicIdModel):
    """Something to collect at the event, reused across registration types (003 `pickup_type_id`)."""

    name = CharField(max_length=200)
    description = TextField(default="")

    class Meta:
        indexes = ((("org", "name"), False),)


class PickupLine(TenantModel):
    """The columns a registration type's pickup and an issued ticket's pickup share (no table of its own):
    `quantity` of `pickup_type`, listed at `position`."""

    pickup_type = ForeignKeyField(PickupType, column_name="pickup_type_id")  # deleted only when unused
    quantity = IntegerField(default=1)
    position = IntegerField(default=0)


class TicketTypePickup(PickupLine, PublicIdModel):
    """One pickup of a registration type: `quantity` of `pickup_type` per seat of each ticket it issues."""

    ticket_type = ForeignKeyField(TicketType, column_name="ticket_type_id", on_delete="CASCADE")

    class Meta:
        indexes = ((("ticket_type", "pickup_type"), True),)


class TicketPickup(PickupLine):
    """What one issued ticket carries of one pickup type, and when staff handed it over (once)."""

    ticket = ForeignKeyField(Ticket, column_name="ticket_id", on_delete="CASCADE")
    collected_at = DateTimeField(null=True)
    collected_by = CharField(max_length=64, null=True)

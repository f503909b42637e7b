"""Session participation: who will attend which session of a parent event, and each session's seat counter.

Columns only; selections, invitations and seat counting change through `core.services.participation`.
"""

from __future__ import annotations

from peewee import CharField, IntegerField

from core.models.base import DateTimeField, ForeignKeyField
from core.models.catalog import Event
from core.models.customer import Customer
from core.models.tenant import TenantModel

PARTICIPATION_STATES = ("selected", "invited", "accepted", "declined", "cancelled")
SEAT_HOLDING = ("selected", "invited", "accepted")
ATTENDING = ("selected", "accepted")


class SessionSeats(TenantModel):
    """Participation seats taken in one session (bounded by the session Event's capacity; None = unlimited)."""

    session = ForeignKeyField(Event, column_name="session_id", on_delete="CASCADE", unique=True)
    taken = IntegerField(default=0)


class Participation(TenantModel):
    """One customer's place in one session: chosen by them (`selected`) or offered by staff (`invited`)."""

    session = ForeignKeyField(Event, column_name="session_id", on_delete="CASCADE")
    parent = ForeignKeyField(Event, column_name="parent_event_id", object_id_name="parent_id", on_delete="CASCADE")
    customer = ForeignKeyField(Customer, column_name="customer_id", on_delete="CASCADE")
    email = CharField(max_length=254, default="")
    name = CharField(max_length=200, default="")
    status = CharField(max_length=16, default="selected")
    source = CharField(max_length=16, default="customer")
    invited_by = CharField(max_length=254, null=True)
    responded_at = DateTimeField(null=True)
    scan_count = IntegerField(default=0)
    first_scanned_at = DateTimeField(null=True)

    class Meta:
        indexes = (
            (("org", "session", "customer"), True),
            (("org", "customer", "parent"), False),
            (("org", "session", "status", "email"), False),
        )

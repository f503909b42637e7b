"""Attendees: the people who hold a tenant's tickets (002's "participants"), found again by e-mail.

Columns only; the rules (find or create by e-mail, fill empty fields, batch per booking) are in
`core.services.attendees`. Not session participation (`core.models.participation`), whose ids 000 shows.
"""

from __future__ import annotations

from peewee import CharField, TextField

from core.models.base import DateTimeField, ForeignKeyField
from core.models.tenant import Org, TenantModel


class Attendee(TenantModel):
    """A person holding one or more of the tenant's tickets.

    `email_key` is the e-mail trimmed and lower-cased, unique per tenant when present (NULL for an anonymous
    attendee, e.g. a box-office sale with no e-mail), so a purchase, a comp and a registration by one person
    find the same row. `confirmed_at`: when they were first issued a ticket (null: made with no ticket yet).
    """

    org = ForeignKeyField(Org, column_name="org_id", on_delete="CASCADE", index=False)  # (org, email_key) covers it
    first_name = CharField(max_length=200, default="")
    last_name = CharField(max_length=200, default="")
    email = CharField(max_length=254, null=True)
    email_key = CharField(max_length=254, null=True)
    phone = CharField(max_length=40, null=True)
    address = TextField(null=True)
    confirmed_at = DateTimeField(null=True)

    class Meta:
        indexes = ((("org", "email_key"), True),)

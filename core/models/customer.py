"""Customers: attendee accounts of one tenant (email unique per org, scrypt password hash).

Never stores a plain password; hashing lives in `core.auth.passwords`.
"""

from __future__ import annotations

from peewee import CharField

from core.models.base import DateTimeField
from core.models.tenant import TenantModel


class Customer(TenantModel):
    """An attendee account; tickets and bookings point at it when bought while logged in."""

    email = CharField(max_length=254)
    name = CharField(max_length=200, default="")
    phone = CharField(max_length=40, null=True)
    password_hash = CharField(max_length=255)
    # Tokens issued before this moment are refused (log out everywhere, password change); None: all are live.
    sessions_valid_after = DateTimeField(null=True)

    class Meta:
        indexes = ((("org", "email"), True),)

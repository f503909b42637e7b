"""Customers: attendee accounts of one tenant (email unique per org, an optional username unique per org with
case ignored, scrypt password hash, and whether an admin made the account an officer of the club).

Never stores a plain password; hashing lives in `core.auth.passwords`.
"""

from __future__ import annotations

from peewee import BooleanField, CharField

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
    # The name the customer chose (shown as typed); `username_key` is it case-folded, unique per tenant.
    username = CharField(max_length=150, null=True)
    username_key = CharField(max_length=450, null=True)  # case folding may triple a character (e.g. "ΐ")
    # An admin granted this account the `officer` role (view the club's tickets, check in, set attendance).
    officer = BooleanField(default=False)

    class Meta:
        indexes = ((("org", "email"), True), (("org", "username_key"), True))

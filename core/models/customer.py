"""Customers: attendee accounts of one tenant (email unique per org, an optional username unique per org with
case ignored, scrypt password hash, whether the e-mail was verified and whether an admin made the account an
officer of the club), and the single-use links e-mailed to them (password reset, e-mail verification and change).

Never stores a plain password or a link's token (only its SHA-256); hashing lives in `core.auth`.
"""

from __future__ import annotations

from peewee import BooleanField, CharField, ForeignKeyField

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
    # When the customer followed a link sent to `email` (verification, password reset, e-mail change); None: not yet.
    email_verified_at = DateTimeField(null=True)

    class Meta:
        indexes = ((("org", "email"), True), (("org", "username_key"), True))


ACCOUNT_LINK_PURPOSES = ("password_reset", "verify_email", "change_email")


class AccountLink(TenantModel):
    """A single-use, expiring link e-mailed to a customer for one `purpose`: the SHA-256 of its token, the address
    it was sent to (for `change_email`, the new address), when it expires and when it was used. A customer has at
    most one live link per purpose: issuing one deletes the older ones (`core.services.account_links`)."""

    customer = ForeignKeyField(Customer, column_name="customer_id", on_delete="CASCADE")
    purpose = CharField(max_length=20)
    email = CharField(max_length=254)
    token_hash = CharField(max_length=64, unique=True)
    expires_at = DateTimeField()
    used_at = DateTimeField(null=True)

    class Meta:
        table_name = "account_link"
        indexes = ((("customer", "purpose"), False),)

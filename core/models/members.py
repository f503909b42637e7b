"""Staff members: a person (`Member`, one per e-mail across the deployment, with a scrypt password and optional
TOTP two-factor), the role they hold in a tenant (`Membership`) and the invitations to become one
(`MemberInvite`, its single-use token kept only as a hash).

Columns only; the rules are in `core.services.members`, `member_invites` and `two_factor`. Never stores a plain
password, invite token or TOTP secret (the secret is sealed under the deployment key).
"""

from __future__ import annotations

from peewee import CharField, IntegerField, TextField

from core.models.base import DateTimeField, ForeignKeyField, TimestampedModel
from core.models.tenant import TenantModel


class Member(TimestampedModel):
    """A person who signs in as staff of one or more tenants: e-mail (stored lower-case, unique), name, password
    hash, two-factor state and the moment before which their tokens are refused."""

    email = CharField(max_length=254, unique=True)
    name = CharField(max_length=200, default="")
    password_hash = CharField(max_length=255)
    totp_secret = TextField(null=True)  # sealed (core.sealed); set once a code confirmed it
    totp_pending = TextField(null=True)  # sealed; the secret being enrolled, until a code confirms it
    totp_last_step = IntegerField(null=True)  # the last TOTP time step accepted (a code works once)
    sessions_valid_after = DateTimeField(null=True)


class Membership(TenantModel):
    """The role a member holds in one tenant (`core.roles.MEMBER_ROLES`); unique per tenant and member."""

    member = ForeignKeyField(Member, column_name="member_id", on_delete="CASCADE", backref="memberships")
    role = CharField(max_length=16)

    class Meta:
        indexes = ((("org", "member"), True),)


class MemberInvite(TenantModel):
    """An invitation to join a tenant with a role: single use, expiring; only the token's SHA-256 is kept."""

    email = CharField(max_length=254)
    role = CharField(max_length=16)
    token_hash = CharField(max_length=64, unique=True)
    expires_at = DateTimeField()
    invited_by = CharField(max_length=80, default="")  # the inviting caller's `sub` (member, key or operator)
    accepted_at = DateTimeField(null=True)
    accepted_by = CharField(max_length=36, null=True)  # the member id that accepted it
    revoked_at = DateTimeField(null=True)

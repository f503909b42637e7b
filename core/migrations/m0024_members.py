"""Migration 24: staff members (`member`), their role per tenant (`membership`) and invitations
(`member_invite`).

Creates the tables when missing (a fresh database already has them from migration 1). Idempotent.
"""

from core.db import db
from core.models import Member, MemberInvite, Membership


def upgrade() -> None:
    """Create the members, memberships and invites tables."""
    db.create_tables([Member, Membership, MemberInvite], safe=True)

"""A signed-in staff member's live grant: the role their membership of a tenant holds now, and when their
sessions were ended, read at most once per `GRANT_SECONDS` per member, tenant and process.

What makes a role change or a removal hold from a member's next request (as `core.api_keys.api_key_grant` does
for keys). Never issues tokens or changes a row; API keys and customers never reach it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from core import invalidation
from core.errors import Unauthorized
from core.identity import Identity
from core.memo import TimedMemo
from core.roles import TOTP_ENROLMENT

GRANT_SECONDS = 5.0  # how stale a worker's view of a membership (role, removal, sessions ended) may be

_GRANTS = TimedMemo(GRANT_SECONDS)  # (org id, member id) -> (role, sessions valid after, epoch s) or None


def member_grant(org_id: str, member_id: str) -> tuple[str, float] | None:
    """(the role `member_id` holds in `org_id` now, the epoch seconds before which their tokens are refused (0:
    none are)), or None when they are no member of it. One query per member, tenant and process every
    GRANT_SECONDS (at once in the process that changed it, through `forget_member`)."""
    from core.models import Member, Membership

    def load() -> tuple[str, float] | None:
        row = (Membership.select(Membership.role, Member.sessions_valid_after).join(Member)
               .where((Membership.org == org_id) & (Membership.member == member_id)).tuples().first())
        if row is None:
            return None
        role, valid_after = row
        return role, (valid_after.replace(tzinfo=dt.UTC).timestamp() if valid_after is not None else 0.0)

    return _GRANTS.get((org_id, member_id), load)


def member_token_identity(identity: Identity) -> Identity:
    """The caller of a member's token with the role its membership holds now; 401 `membership_revoked` when the
    member was removed from the tenant, 401 `session_revoked` when their sessions were ended after the token was
    issued. A restricted two-factor enrolment token keeps its role."""
    grant = member_grant(identity.org, identity.member_id or "")
    if grant is None:
        raise Unauthorized("You are no longer a member of this organisation.", type="membership_revoked")
    role, valid_after = grant
    if identity.issued_at < valid_after:
        raise Unauthorized("This session was ended; log in again.", type="session_revoked")
    if role == identity.role or identity.role == TOTP_ENROLMENT:
        return identity
    return dataclasses.replace(identity, role=role)


def forget_member(org_id: str | None = None, member_id: str | None = None) -> None:
    """Drop the view of a member's grant in a tenant (after a role change, a removal or ending their sessions;
    with no arguments, of every member): here once the change commits, on every other process through the
    invalidation bus."""
    key = invalidation.tenant_key(org_id, member_id) if org_id is not None and member_id is not None else None
    invalidation.announce("member", key)


invalidation.on_tenant_change("member", _GRANTS)

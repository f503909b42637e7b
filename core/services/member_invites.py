"""Invitations to become a staff member of a tenant: an admin (or the hosting operator, for a tenant's first
admin) invites an e-mail with a role, the invitee accepts once with the link's token and a password.

The one place for these rules. The token is single use and expires (`INVITE_DAYS`); only its SHA-256 is kept
(`core.kits.links`). It reaches the invitee through the `member_invited` hook (an e-mail plugin) when the
tenant has one, else the inviter gets it once in the answer. Accepting is one conditional UPDATE, so two
accepts of one token make one member. Never stores or logs a token or a password.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import urlencode

from peewee import IntegrityError

from core.auth import verify_password
from core.db import write_transaction
from core.errors import Conflict, NotFound, Unauthorized, Unprocessable
from core.kits.links import new_link_token, token_hash
from core.models import MemberInvite, Membership, Org, utcnow
from core.plugins import hooks_for
from core.services import audit
from core.services.accounts import normalise_email
from core.services.event_lists import pages_root
from core.services.members import checked_password, checked_role, member_by_email, membership_of, new_member
from core.tenancy import get_scoped, scoped

INVITE_DAYS = 7  # how long an invitation link works
INVITE_HOOK = "member_invited"
ACCEPT_PAGE = "staff/accept-invite"  # under the tenant's pages root: the page a link opens (it accepts through
# accept_invite, like POST /org/members/invites/accept)


@dataclass
class IssuedInvite:
    """An invitation just made: its record, and its link and token when no e-mail plugin sends them (shown to the
    inviter this once; None when the `member_invited` hook delivers them)."""

    invite: MemberInvite
    emailed: bool
    token: str | None
    url: str | None


def invite_url(org_id: str, token: str) -> str:
    """The link an invitee follows: `<BOXOFFICE_PUBLIC_URL>/e/<org>/staff/accept-invite?token=...`."""
    return f"{pages_root(org_id)}/{ACCEPT_PAGE}?{urlencode({'token': token})}"


def _checked_email(email: object) -> str:
    text = normalise_email(email) if isinstance(email, str) else ""
    if not (3 <= len(text) <= 254 and "@" in text.strip("@")):
        raise Unprocessable("An invitation needs an e-mail address.", type="invalid_email",
                            errors={"email": ["Not a valid e-mail address."]})
    return text


def invite_member(org: Org, email: str, role: str, *, invited_by: str = "") -> IssuedInvite:
    """Invite `email` to join `org` as `role`: a new pending invitation (earlier pending ones of that e-mail are
    revoked), e-mailed through the tenant's `member_invited` hook when one of its plugins implements it. 422
    `invalid_email`, `invalid_role`; 409 `already_a_member` when that person is a member here already."""
    email, role = _checked_email(email), checked_role(role)
    token, digest = new_link_token()
    now = utcnow()
    hooks = hooks_for(org)
    emailed = hooks.consumes(INVITE_HOOK)
    with write_transaction():
        person = member_by_email(email)
        if person is not None and scoped(Membership, org).where(Membership.member == person.id).exists():
            raise Conflict(f"{email} is a member of this organisation already; change their role instead.",
                           type="already_a_member")
        MemberInvite.update(revoked_at=now).where(
            (MemberInvite.org == org.id) & (MemberInvite.email == email) & MemberInvite.accepted_at.is_null()
            & MemberInvite.revoked_at.is_null()).execute()
        invite = MemberInvite.create(org=org.id, email=email, role=role, token_hash=digest, invited_by=invited_by,
                                     expires_at=now + dt.timedelta(days=INVITE_DAYS))
        audit.record(org, "member.invited", "invite", invite.id, after={"email": email, "role": role})
        if emailed:
            hooks.notify(INVITE_HOOK, org=org, invite=invite, invite_token=token)
    return IssuedInvite(invite, emailed, None if emailed else token, None if emailed else invite_url(org.id, token))


def list_invites(org: Org | str) -> list[MemberInvite]:
    """The tenant's invitations, newest first, accepted, revoked and expired ones included."""
    return list(scoped(MemberInvite, org).order_by(MemberInvite.created_at.desc(), MemberInvite.id))


def revoke_invite(org: Org | str, invite_id: str) -> MemberInvite:
    """Revoke a pending invitation (idempotent): its link stops working. 404 `invite_not_found`; 409
    `invite_used` when it was accepted already."""
    invite = get_scoped(MemberInvite, org, invite_id, "invite")
    if invite.accepted_at is not None:
        raise Conflict("This invitation was accepted already; remove the member instead.", type="invite_used")
    if invite.revoked_at is None:
        with write_transaction():
            revoked = MemberInvite.update(revoked_at=utcnow()).where(
                invite.row_condition() & MemberInvite.revoked_at.is_null()
                & MemberInvite.accepted_at.is_null()).execute()
            if revoked:
                audit.record(org, "member.invite_revoked", "invite", invite.id, before={"email": invite.email})
    return get_scoped(MemberInvite, org, invite_id, "invite")


def pending_invite(org: Org, token: object) -> MemberInvite:
    """The pending invitation of `org` whose token this is; 404 `invite_not_found`, 409 `invite_used`,
    `invite_revoked`, `invite_expired`."""
    invite = None
    if isinstance(token, str) and 0 < len(token) <= 200:
        invite = scoped(MemberInvite, org).where(MemberInvite.token_hash == token_hash(token)).first()
    if invite is None:
        raise NotFound("This invitation link is not valid.", type="invite_not_found")
    if invite.accepted_at is not None:
        raise Conflict("This invitation was used already; sign in at POST /auth/login.", type="invite_used")
    if invite.revoked_at is not None:
        raise Conflict("This invitation was revoked; ask an admin for a new one.", type="invite_revoked")
    if invite.expires_at <= utcnow():
        raise Conflict("This invitation expired; ask an admin for a new one.", type="invite_expired")
    return invite


def accept_invite(org: Org, token: str, *, password: str, name: str = "") -> Membership:
    """Accept an invitation once: the invitee becomes a member of `org` with its role. A new person sets their
    `password` (and `name`); a person who is a member elsewhere already proves theirs (401
    `invalid_credentials`) and keeps it. 404 `invite_not_found`; 409 `invite_used`, `invite_revoked`,
    `invite_expired`, `already_a_member`; 422 `invalid_password`."""
    invite = pending_invite(org, token)
    person = member_by_email(invite.email)
    if person is not None and not verify_password(password if isinstance(password, str) else "",
                                                  person.password_hash):
        raise Unauthorized("This e-mail has an account already: send its password to accept.",
                           type="invalid_credentials")
    if person is None:
        checked_password(password)
    elif scoped(Membership, org).where(Membership.member == person.id).exists():
        raise Conflict("You are a member of this organisation already.", type="already_a_member")
    now = utcnow()
    try:
        with write_transaction():
            if person is None:
                person = new_member(invite.email, password, name)
            taken = MemberInvite.update(accepted_at=now, accepted_by=person.id).where(
                invite.row_condition() & MemberInvite.accepted_at.is_null()
                & MemberInvite.revoked_at.is_null() & (MemberInvite.expires_at > now)).execute()
            if taken != 1:
                raise Conflict("This invitation was used already; sign in at POST /auth/login.", type="invite_used")
            Membership.create(org=org.id, member=person.id, role=invite.role)
            audit.record(org, "member.joined", "member", person.id, after={"email": person.email, "role": invite.role})
    except IntegrityError as exc:  # a racing accept made the person or the membership first
        raise Conflict("This invitation was used already; sign in at POST /auth/login.", type="invite_used") from exc
    return membership_of(org, person.id)


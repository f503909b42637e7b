"""A tenant's staff members: list them, change a member's role, remove one, and check a member's password (and
two-factor code) at sign-in.

The one place for these rules (`/org/members`, `/auth/login`; the invites are `core.services.member_invites`).
The last admin of a tenant can be neither demoted nor removed (409 `last_admin`), also when two admins race. A
change reaches every worker within `core.member_grants.GRANT_SECONDS`. Returns records, never Flask objects;
never stores a plain password.
"""

from __future__ import annotations

from core.auth import hash_password, verify_password
from core.db import is_sqlite, write_transaction
from core.errors import Conflict, NotFound, Unauthorized, Unprocessable
from core.identity import Identity
from core.member_grants import forget_member
from core.models import Member, Membership, Org, utcnow
from core.roles import ADMIN, MEMBER_ROLES
from core.services import audit, two_factor
from core.services.accounts import normalise_email
from core.tenancy import scoped

_DUMMY_HASH = hash_password("member-timing-equaliser")
PASSWORD_MIN, PASSWORD_MAX = 8, 256


def checked_role(role: str) -> str:
    """`role` when it is a member role (`core.roles.MEMBER_ROLES`, also what an API key may be), else 422
    `invalid_role`."""
    if role not in MEMBER_ROLES:
        raise Unprocessable(f"role must be one of {', '.join(MEMBER_ROLES)}", type="invalid_role")
    return role


def checked_password(password: str) -> str:
    """`password` when it is 8 to 256 characters, else 422 `invalid_password`."""
    if not isinstance(password, str) or not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise Unprocessable(f"A password is {PASSWORD_MIN} to {PASSWORD_MAX} characters.", type="invalid_password",
                            errors={"password": ["8 to 256 characters"]})
    return password


def new_member(email: str, password: str, name: str = "") -> Member:
    """Inside a write transaction: a new person who can sign in (e-mail stored lower-case, password hashed)."""
    return Member.create(email=normalise_email(email), name=name.strip(), password_hash=hash_password(password))


def member_by_email(email: str) -> Member | None:
    """The person with this e-mail (any case), or None."""
    return Member.get_or_none(Member.email == normalise_email(email))


def list_members(org: Org | str) -> list[Membership]:
    """The tenant's members with their person (`membership.member`), by e-mail."""
    return list(scoped(Membership, org, Membership, Member).join(Member).order_by(Member.email, Member.id))


def membership_of(org: Org | str, member_id: str) -> Membership:
    """The membership of `member_id` in this tenant, with its person; 404 `member_not_found` (also when they
    belong to another tenant only)."""
    if not isinstance(member_id, str) or len(member_id) > 64:
        member_id = ""
    found = (scoped(Membership, org, Membership, Member).join(Member)
             .where(Membership.member == member_id).first())
    if found is None:
        raise NotFound(f"No member with id {member_id!r}.", type="member_not_found")
    return found


def _lock_members(org_id: str) -> None:
    """Inside a write transaction: serialise changes of the tenant's members (PostgreSQL locks the org row;
    SQLite's write transactions are serial already), so two admins demoting each other leave one admin."""
    if not is_sqlite():
        Org.select(Org.id).where(Org.id == org_id).for_update().execute()


def _keep_an_admin(org_id: str, membership: Membership) -> None:
    """409 `last_admin` when `membership` is the tenant's only admin."""
    if membership.role != ADMIN:
        return
    admins = scoped(Membership, org_id).where(Membership.role == ADMIN).count()
    if admins <= 1:
        raise Conflict("This is the organisation's last admin: make another member admin first.",
                       type="last_admin")


def change_role(org: Org | str, member_id: str, role: str) -> Membership:
    """Give a member another role in this tenant; it holds from their next request (within `GRANT_SECONDS` on
    other workers). 404 `member_not_found`, 422 `invalid_role`, 409 `last_admin` when it would leave no admin."""
    org_id = org if isinstance(org, str) else org.id
    role = checked_role(role)
    with write_transaction():
        _lock_members(org_id)
        membership = membership_of(org_id, member_id)
        if role != membership.role:
            if role != ADMIN:
                _keep_an_admin(org_id, membership)
            Membership.update(role=role, updated_at=utcnow()).where(membership.row_condition()).execute()
            audit.record(org_id, "member.role_changed", "member", membership.member_id,
                         before={"role": membership.role}, after={"role": role})
            forget_member(org_id, membership.member_id)
    return membership_of(org_id, member_id)


def remove_member(org: Org | str, member_id: str) -> Membership:
    """Take a member out of this tenant (their person stays, with their other tenants); their tokens for it are
    refused from their next request (401 `membership_revoked`). 404 `member_not_found`, 409 `last_admin`."""
    org_id = org if isinstance(org, str) else org.id
    with write_transaction():
        _lock_members(org_id)
        membership = membership_of(org_id, member_id)
        _keep_an_admin(org_id, membership)
        Membership.delete().where(membership.row_condition()).execute()
        audit.record(org_id, "member.removed", "member", membership.member_id,
                     before={"email": membership.member.email, "role": membership.role})
        forget_member(org_id, membership.member_id)
    return membership


def authenticate_member(org: Org, *, email: str, password: str, otp: str | None = None) -> Membership:
    """The membership in `org` of the person with these credentials. 401 `invalid_credentials` (the same for a
    wrong e-mail, a wrong password or a person who is no member here); with two-factor on, 401 `otp_required`
    without `otp` and `invalid_otp` for a wrong or reused code; 403 `two_factor_enrolment_required` (with a
    restricted `enrolmentToken`, made by the view) when the tenant demands two-factor of its admins and this
    admin has none (`two_factor.EnrolmentRequired`)."""
    person = member_by_email(email)
    membership = None
    if person is not None:
        membership = (scoped(Membership, org, Membership, Member).join(Member)
                      .where(Membership.member == person.id).first())
    stored = person.password_hash if person is not None else _DUMMY_HASH
    if not verify_password(password, stored) or membership is None:
        raise Unauthorized("Email or password is incorrect.", type="invalid_credentials")
    if person.totp_secret:
        two_factor.check_login_code(person, otp)
    elif membership.role == ADMIN and two_factor.admins_need_it(org):
        raise two_factor.EnrolmentRequired(membership)
    return membership


def end_sessions(member: Member) -> None:
    """Refuse every token the person holds so far, in every tenant (401 `session_revoked` from their next
    request; within `GRANT_SECONDS` on other workers). A token issued after this call is live."""
    with write_transaction():
        Member.update(sessions_valid_after=utcnow(), updated_at=utcnow()).where(Member.id == member.id).execute()
        forget_member()


def caller_member(org: Org | str, identity: Identity) -> Member:
    """The person a member's token names, if they are still a member of this tenant (else 404
    `member_not_found`)."""
    return membership_of(org, identity.member_id or "").member

"""The tenant's staff members over HTTP, for its admins: list them, change a role, remove one
(`/org/members`), and the invitations (`/org/members/invites`), including the invitee's accept.

Thin views over `core.services.members` and `core.services.member_invites`; the hosting operator invites a
tenant's first admin through the same service (`tenants`).
"""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import fields, validate

from core.api.blueprint import Blueprint
from core.api.fields import UtcTime
from core.api.throttle import Guard, invite_account, throttled
from core.api_schema import Schema
from core.auth import current_identity, require_role
from core.models import MemberInvite, utcnow
from core.roles import ADMINS, MEMBER_ROLES, ROLE_DOCS
from core.services import member_invites, members
from core.tenancy import current_org

blp = Blueprint("members", __name__, description="The organisation's staff members and their invitations")

# A wrong invitation token, or a wrong password of an invitee who has an account already.
ACCEPT = Guard("member-invite", frozenset({401, 404}), invite_account)
ROLE_DOC = "; ".join(f"`{role}`: {doc}" for role, doc in ROLE_DOCS.items())
TIME = {"type": "string", "format": "date-time"}


def _role_field(**kwargs) -> fields.String:
    return fields.String(validate=validate.OneOf(MEMBER_ROLES), metadata={"description": ROLE_DOC}, **kwargs)


class MemberSchema(Schema):
    """A member as their tenant sees them."""

    id = fields.String(attribute="member.id", metadata={"description": "The member's id (the same in every "
                                                                       "organisation they belong to)"})
    email = fields.String(attribute="member.email")
    name = fields.String(attribute="member.name")
    role = fields.String()
    twoFactor = fields.Function(lambda m: bool(m.member.totp_secret), metadata={
        "type": "boolean", "description": "They sign in with a two-factor code."})
    joinedAt = UtcTime(attribute="created_at", metadata=TIME)


class MemberList(Schema):
    members = fields.List(fields.Nested(MemberSchema))


class RoleChange(Schema):
    role = _role_field(required=True)


class MemberInviteCreate(Schema):
    email = fields.Email(required=True, validate=validate.Length(max=254))
    role = _role_field(required=True)


class MemberInviteSchema(Schema):
    """An invitation as listed (never its token)."""

    id = fields.String()
    email = fields.String()
    role = fields.String()
    status = fields.Function(lambda i: invite_status(i), metadata={
        "type": "string", "enum": ["pending", "accepted", "revoked", "expired"]})
    invitedBy = fields.String(attribute="invited_by")
    createdAt = UtcTime(attribute="created_at", metadata=TIME)
    expiresAt = UtcTime(attribute="expires_at", metadata=TIME)
    acceptedAt = UtcTime(attribute="accepted_at", allow_none=True, metadata=TIME)
    revokedAt = UtcTime(attribute="revoked_at", allow_none=True, metadata=TIME)


class MemberInviteList(Schema):
    invites = fields.List(fields.Nested(MemberInviteSchema))


class MemberInviteCreated(MemberInviteSchema):
    """An invitation just made: e-mailed, or its link and token shown here this once."""

    emailed = fields.Boolean(metadata={"description": "An e-mail plugin of the organisation sends the link."})
    inviteUrl = fields.String(allow_none=True, metadata={
        "description": "The link to pass on (null when e-mailed); shown this once."})
    token = fields.String(allow_none=True, metadata={
        "description": "The link's token for POST /org/members/invites/accept (null when e-mailed); shown this "
                       "once."})


class MemberInviteAccept(Schema):
    token = fields.String(required=True, validate=validate.Length(min=1, max=200), load_only=True)
    password = fields.String(required=True, validate=validate.Length(max=256), load_only=True, metadata={
        "description": "A new account's password (8 to 256 characters), or the password of the account this "
                       "e-mail has already (a member of another organisation)."})
    name = fields.String(load_default="", validate=validate.Length(max=200))


class MemberAcceptedSchema(Schema):
    orgId = fields.String()
    member = fields.Nested(MemberSchema)


def issued_view(issued: member_invites.IssuedInvite) -> MemberInvite:
    """An invitation just made, as `MemberInviteCreated` dumps it (its link and token only when not e-mailed)."""
    invite = issued.invite
    invite.emailed, invite.inviteUrl, invite.token = issued.emailed, issued.url, issued.token
    return invite


def invite_status(invite: MemberInvite) -> str:
    """pending, accepted, revoked or expired."""
    if invite.accepted_at is not None:
        return "accepted"
    if invite.revoked_at is not None:
        return "revoked"
    return "expired" if invite.expires_at <= utcnow() else "pending"


@blp.route("/org/members")
class OrgMembers(MethodView):
    @require_role(ADMINS, scope="admin")
    @blp.response(200, MemberList)
    def get(self):
        """The organisation's staff members, by e-mail, with their roles (admin only)."""
        return {"members": members.list_members(current_org())}


@blp.route("/org/members/<member_id>")
class OrgMember(MethodView):
    @require_role(ADMINS, scope="admin")
    @blp.arguments(RoleChange)
    @blp.response(200, MemberSchema)
    @blp.error_responses({404: "`member_not_found`", 409: "`last_admin`: the organisation's only admin"})
    def patch(self, data, member_id):
        """Change a member's role; it holds from their next request (within 5 seconds on every worker)."""
        return members.change_role(current_org(), member_id, data["role"])

    @require_role(ADMINS, scope="admin")
    @blp.response(200, MemberSchema)
    @blp.error_responses({404: "`member_not_found`", 409: "`last_admin`: the organisation's only admin"})
    def delete(self, member_id):
        """Remove a member from the organisation; their tokens get 401 `membership_revoked` from their next
        request. Their account stays for their other organisations."""
        return members.remove_member(current_org(), member_id)


@blp.route("/org/members/invites")
class OrgInvites(MethodView):
    @require_role(ADMINS, scope="admin")
    @blp.response(200, MemberInviteList)
    def get(self):
        """The organisation's invitations, newest first, with their status (never their tokens)."""
        return {"invites": member_invites.list_invites(current_org())}

    @require_role(ADMINS, scope="admin")
    @blp.arguments(MemberInviteCreate)
    @blp.response(201, MemberInviteCreated)
    @blp.error_responses({409: "`already_a_member`"})
    def post(self, data):
        """Invite an e-mail to join as `role`. The single-use link (valid 7 days) is e-mailed when the
        organisation has an e-mail plugin (notifications), else shown in this answer only (`inviteUrl`,
        `token`). A new invitation of the same e-mail revokes its pending ones."""
        return issued_view(member_invites.invite_member(current_org(), data["email"], data["role"],
                                                        invited_by=current_identity().sub))


@blp.route("/org/members/invites/<invite_id>")
class OrgInvite(MethodView):
    @require_role(ADMINS, scope="admin")
    @blp.response(200, MemberInviteSchema)
    @blp.error_responses({404: "`invite_not_found`", 409: "`invite_used`: accepted already"})
    def delete(self, invite_id):
        """Revoke a pending invitation (idempotent): its link stops working."""
        return member_invites.revoke_invite(current_org(), invite_id)


@blp.route("/org/members/invites/accept")
@throttled(blp, ACCEPT)
class AcceptInvite(MethodView):
    @blp.arguments(MemberInviteAccept)
    @blp.response(201, MemberAcceptedSchema)
    @blp.error_responses({401: "`invalid_credentials`: this e-mail has an account and the password is not its",
                          404: "`invite_not_found`",
                          409: "`invite_used`, `invite_revoked`, `invite_expired`, `already_a_member`"})
    def post(self, data):
        """Accept an invitation with its token (no sign-in needed): a new account sets its `password` and
        `name`; an account of another organisation proves its password and gets the new role. Once only; then
        sign in at POST /auth/login."""
        org = current_org()
        membership = member_invites.accept_invite(org, data["token"], password=data["password"], name=data["name"])
        return {"orgId": org.id, "member": membership}

"""Staff members sign in (`POST /auth/login`: orgid, e-mail, password and, with two-factor on, a code) and
manage their own two-factor (`/auth/two-factor/*`).

Thin views over `core.services.members` and `core.services.two_factor`; the tokens are JWTs like an API key's
(`sub` `member:<id>`, the membership's role, read live on every request by `core.member_grants`).
"""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import fields, validate

from core.api.blueprint import Blueprint
from core.api.members import MemberSchema
from core.api.throttle import Guard, email_account, throttled
from core.api_schema import Schema
from core.auth import current_identity, issue_token, require_role, token_for
from core.config import current_config
from core.errors import ErrorSchema
from core.identity import MEMBER_SUB
from core.models import Membership
from core.roles import MEMBER, TOTP_ENROLMENT
from core.services import members, two_factor
from core.tenancy import current_org

blp = Blueprint("member_auth", __name__, description="Staff members: sign-in and two-factor")

# A wrong password (or e-mail), a missing or wrong two-factor code.
LOGIN = Guard("member-login", frozenset({401}), email_account)
ENROLMENT_SECONDS = 15 * 60  # how long a restricted two-factor enrolment token lives
OTP_DOC = "The 6-digit code of the member's authenticator app (when two-factor is on)"


class MemberLogin(Schema):
    email = fields.Email(required=True)
    password = fields.String(required=True, validate=validate.Length(max=256), load_only=True)
    otp = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=10), load_only=True,
                        metadata={"description": OTP_DOC})


class MemberSession(Schema):
    token = fields.String(metadata={"description": "JWT to send as `Authorization: Bearer <token>`"})
    tokenType = fields.String(dump_default="Bearer")
    expiresIn = fields.Integer()
    role = fields.String()
    member = fields.Nested(MemberSchema)


class EnrolmentRequiredSchema(ErrorSchema):
    """403 `two_factor_enrolment_required`: the envelope and a token that may only enrol two-factor."""

    enrolmentToken = fields.String(metadata={"description": "Valid 15 minutes, for /auth/two-factor/enrol and "
                                                            "/confirm only"})
    expiresIn = fields.Integer()


class Enrolment(Schema):
    secret = fields.String(metadata={"description": "Base32 secret for an authenticator app; shown only now"})
    otpauthUri = fields.String(metadata={"description": "The same as an `otpauth://totp/...` URI (a QR code)"})


class EnrolmentConfirm(Schema):
    otp = fields.String(required=True, validate=validate.Length(min=1, max=10), load_only=True,
                        metadata={"description": OTP_DOC})


def member_session(membership: Membership) -> dict:
    """A signed-in member's session: a JWT for their role in the membership's tenant."""
    person = membership.member
    token = token_for(MEMBER_SUB + person.id, membership.org_id, membership.role, person.email)
    return {"token": token, "tokenType": "Bearer", "expiresIn": current_config().jwt_ttl_seconds,
            "role": membership.role, "member": membership}


def _enrolment_required(error: two_factor.EnrolmentRequired) -> two_factor.EnrolmentRequired:
    person = error.membership.member
    error.extra.update(expiresIn=ENROLMENT_SECONDS, enrolmentToken=issue_token(
        current_config().secret_key, sub=MEMBER_SUB + person.id, org=error.membership.org_id, role=TOTP_ENROLMENT,
        email=person.email, ttl_seconds=ENROLMENT_SECONDS))
    return error


@blp.route("/auth/login")
@throttled(blp, LOGIN)
class Login(MethodView):
    @blp.arguments(MemberLogin)
    @blp.response(200, MemberSession)
    @blp.alt_response(403, schema=EnrolmentRequiredSchema, description="`two_factor_enrolment_required`: the "
                      "organisation demands two-factor of admins; enrol with `enrolmentToken`, then sign in again")
    @blp.error_responses({401: "`invalid_credentials` (either part wrong), `otp_required`, `invalid_otp`"})
    def post(self, data):
        """Sign a staff member in to the organisation of the `orgid` header: a JWT for their role there."""
        try:
            membership = members.authenticate_member(current_org(), **data)
        except two_factor.EnrolmentRequired as error:
            raise _enrolment_required(error) from None
        return member_session(membership)


@blp.route("/auth/logout-all")
class LogoutEverywhere(MethodView):
    @require_role(MEMBER)
    @blp.response(204)
    def post(self):
        """End every session of my member account, in every organisation, this one included: each token issued
        so far answers 401 `session_revoked` (within a few seconds on every worker). Sign in again."""
        members.end_sessions(members.caller_member(current_org(), current_identity()))


@blp.route("/auth/two-factor/enrol")
class TwoFactorEnrol(MethodView):
    @require_role(MEMBER)
    @blp.response(200, Enrolment)
    @blp.error_responses({409: "`two_factor_enabled_already`"})
    def post(self):
        """Start two-factor for my account (a member's token, or the enrolment token of a sign-in that needs
        it): a new secret and its otpauth URI, pending until a code confirms it. Starting again replaces it."""
        person = members.caller_member(current_org(), current_identity())
        secret, uri = two_factor.start_enrolment(person, current_org().name)
        return {"secret": secret, "otpauthUri": uri}


@blp.route("/auth/two-factor/confirm")
class TwoFactorConfirm(MethodView):
    @require_role(MEMBER)
    @blp.arguments(EnrolmentConfirm)
    @blp.response(200, MemberSession)
    @blp.error_responses({409: "`no_enrolment`, `two_factor_enabled_already`", 422: "`invalid_otp`"})
    def post(self, data):
        """Turn two-factor on with a code of the new secret; from now on sign-in needs `otp`. The answer is a
        full session for my role (also when I came with an enrolment token)."""
        org = current_org()
        person = members.caller_member(org, current_identity())
        two_factor.confirm_enrolment(person, data["otp"])
        return member_session(members.membership_of(org, person.id))

"""Customer account links over HTTP (`/client/auth/...`): password reset, e-mail verification and change of
e-mail, each confirmed by a single-use link e-mailed to the customer.

Thin views over `core.services.password_reset`, `email_verification` and `email_change`; never says whether an
e-mail has an account, and never answers a link's token.
"""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import fields, validate

from core.api.auth import SessionSchema, customer_session
from core.api.blueprint import Blueprint
from core.api.fields import UtcTime
from core.api.throttle import Guard, caller_account, email_account, throttled
from core.api_schema import Schema
from core.auth import current_identity, require_role
from core.services import email_change, email_verification, password_reset
from core.tenancy import current_org

blp = Blueprint("account_links", __name__,
                description="Customer accounts: password reset, e-mail verification and change of e-mail by link")

# Each reset request sends (or pretends to send) an e-mail: every one counts, per address and per e-mail.
RESET_REQUEST = Guard("password-reset", frozenset({202}), email_account)
# Guessing link tokens: an unknown token counts, per address (the three confirm routes share the counters).
LINK = Guard("account-link", frozenset({404}))
# Each resend sends an e-mail: every one counts, per account.
RESEND = Guard("verify-resend", frozenset({202}), caller_account)
# A change of e-mail checks the password (403) and sends an e-mail (202): both count, per account.
EMAIL_CHANGE = Guard("email-change", frozenset({202, 403}), caller_account)

RESET_SENT = ("If an account uses this e-mail, we sent it a link to choose a new password. The link works once, "
              "for one hour.")
TOKEN_DOC = "The `token` of the link we e-mailed (`?token=...`)."


class ResetRequestSchema(Schema):
    email = fields.Email(required=True, validate=validate.Length(max=254))


class AcceptedSchema(Schema):
    message = fields.String()


class TokenSchema(Schema):
    token = fields.String(required=True, validate=validate.Length(min=1, max=200), metadata={"description": TOKEN_DOC})


class ResetConfirmSchema(TokenSchema):
    newPassword = fields.String(required=True, validate=validate.Length(min=8, max=256), load_only=True)


class VerifiedSchema(Schema):
    email = fields.String()
    emailVerified = fields.Function(email_verification.is_verified, metadata={"type": "boolean"})


class LinkSentSchema(Schema):
    email = fields.String(metadata={"description": "Where the link went"})
    expiresAt = UtcTime(metadata={"description": "When the link stops working"})


class EmailChangeSchema(Schema):
    newEmail = fields.Email(required=True, validate=validate.Length(max=254))
    currentPassword = fields.String(required=True, validate=validate.Length(max=256), load_only=True)


@blp.route("/client/auth/password-reset")
@throttled(blp, RESET_REQUEST)
class PasswordReset(MethodView):
    @blp.arguments(ResetRequestSchema)
    @blp.response(202, AcceptedSchema)
    def post(self, data):
        """Forgot my password: e-mail a link to choose a new one. Always the same 202 answer, whether or not the
        e-mail has an account (the link goes only to an account's own e-mail, and only when the organisation
        sends e-mail). The link works once, for one hour; a newer request replaces it."""
        password_reset.request_reset(current_org(), data["email"])
        return {"message": RESET_SENT}


@blp.route("/client/auth/password-reset/confirm")
@throttled(blp, LINK)
class PasswordResetConfirm(MethodView):
    @blp.arguments(ResetConfirmSchema)
    @blp.response(200, SessionSchema)
    def post(self, data):
        """Choose a new password with the reset link's token: every session of the account ends (401
        `session_revoked`), the e-mail counts as verified, and the answer is a new session. 404 `invalid_link`,
        409 `link_used`, 410 `link_expired`."""
        customer = password_reset.reset_password(current_org(), data["token"], data["newPassword"])
        return customer_session(customer)


@blp.route("/client/auth/verify-email")
@throttled(blp, LINK)
class VerifyEmail(MethodView):
    @blp.arguments(TokenSchema)
    @blp.response(200, VerifiedSchema)
    def post(self, data):
        """Confirm my e-mail with the verification link's token (no login needed: the link may be opened on
        another device). 404 `invalid_link`, 409 `link_used`, 410 `link_expired`."""
        return email_verification.verify(current_org(), data["token"])


@blp.route("/client/auth/verify-email/resend")
@throttled(blp, RESEND)
class ResendVerification(MethodView):
    @require_role("customer")
    @blp.response(202, LinkSentSchema)
    def post(self):
        """E-mail me a new verification link (the older one stops working). 409 `email_already_verified`, 422
        `email_unavailable` when the organisation sends no e-mail."""
        link = email_verification.resend(current_org(), current_identity().sub)
        return {"email": link.email, "expiresAt": link.expires_at}


@blp.route("/client/auth/email")
@throttled(blp, EMAIL_CHANGE)
class ChangeEmail(MethodView):
    @require_role("customer")
    @blp.arguments(EmailChangeSchema)
    @blp.response(202, LinkSentSchema)
    def post(self, data):
        """Change my e-mail: a link goes to `newEmail`, and the change happens when it is followed (until then
        nothing changes; a newer request replaces the link). 403 `wrong_password`, 409 `email_taken`, 422
        `same_email`, `email_unavailable` when the organisation sends no e-mail."""
        link = email_change.request_change(current_org(), current_identity().sub,
                                           current_password=data["currentPassword"], new_email=data["newEmail"])
        return {"email": link.email, "expiresAt": link.expires_at}


@blp.route("/client/auth/email/confirm")
@throttled(blp, LINK)
class ChangeEmailConfirm(MethodView):
    @blp.arguments(TokenSchema)
    @blp.response(200, SessionSchema)
    def post(self, data):
        """Confirm the change of e-mail with the token of the link sent to the new address: the account uses it
        from now on (verified), every session ends (401 `session_revoked`), the old address is told, and the
        answer is a new session. 404 `invalid_link`, 409 `link_used`, `email_taken` (another account took the
        address meanwhile), 410 `link_expired`."""
        return customer_session(email_change.confirm_change(current_org(), data["token"]))


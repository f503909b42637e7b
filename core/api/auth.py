"""Auth endpoints: customer register/login/profile (`/client/auth/*`) and staff API-key exchange (`/auth/token`).

Tokens are JWTs bound to the tenant of the `orgid` header.
"""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import fields, validate

from core.api.blueprint import Blueprint
from core.api.throttle import API_KEY, Guard, caller_account, email_account, throttled
from core.api_keys import SCOPES
from core.api_schema import Schema
from core.auth import current_identity, is_officer, require_role, token_for
from core.identity import API_KEY_SUB
from core.roles import EVERYONE, MEMBER
from core.services import accounts, email_verification
from core.tenancy import current_org

blp = Blueprint("auth", __name__, description="Customer accounts and staff tokens")

# Failed attempts that are throttled: a wrong password, an e-mail that has an account, a wrong API key.
LOGIN = Guard("login", frozenset({401}), email_account)
PASSWORD_CHANGE = Guard("password-change", frozenset({403}), caller_account)
REGISTER = Guard("register", frozenset({409}), email_account)


class RegisterSchema(Schema):
    email = fields.Email(required=True)
    password = fields.String(required=True, validate=validate.Length(min=8, max=256),
                             load_only=True)
    name = fields.String(load_default="", validate=validate.Length(max=200))
    phone = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=40))
    username = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200), metadata={
        "description": "Optional: 3-150 letters, digits and `.@+-_`, unique in the organisation with case ignored "
                       "(422 `invalid_username`, `username_taken`). Others can transfer tickets to it."})


class ProfileUpdateSchema(Schema):
    name = fields.String(validate=validate.Length(max=200))
    phone = fields.String(allow_none=True, validate=validate.Length(max=40))
    username = fields.String(allow_none=True, validate=validate.Length(max=200), metadata={
        "description": "3-150 letters, digits and `.@+-_`, unique in the organisation with case ignored (422 "
                       "`invalid_username`, `username_taken`); null removes it."})


class LoginSchema(Schema):
    email = fields.Email(required=True)
    password = fields.String(required=True, validate=validate.Length(max=256), load_only=True)


class PasswordChangeSchema(Schema):
    currentPassword = fields.String(required=True, validate=validate.Length(max=256), load_only=True)
    newPassword = fields.String(required=True, validate=validate.Length(min=8, max=256), load_only=True)


class CustomerSchema(Schema):
    id = fields.String()
    email = fields.String()
    name = fields.String()
    phone = fields.String(allow_none=True)
    username = fields.String(allow_none=True)
    officer = fields.Boolean(metadata={"description": "An admin made this account an officer of the club: it may "
                                                      "view the club's tickets, check them in and set attendance."})
    emailVerified = fields.Function(email_verification.is_verified, metadata={
        "type": "boolean", "description": "The customer followed a link sent to `email` (verification, "
                                          "password reset or e-mail change)."})
    reminder = fields.Function(email_verification.reminder, allow_none=True, metadata={
        "type": "string", "description": "What the account should do (verify its e-mail), or null."})


class SessionSchema(Schema):
    token = fields.String(metadata={"description": "JWT to send as `Authorization: Bearer <token>`"})
    tokenType = fields.String(dump_default="Bearer")
    expiresIn = fields.Integer()
    customer = fields.Nested(CustomerSchema)


class ApiKeyExchangeSchema(Schema):
    apiKey = fields.String(required=True, validate=validate.Length(min=10, max=200))


class StaffTokenSchema(Schema):
    token = fields.String()
    tokenType = fields.String()
    expiresIn = fields.Integer()
    role = fields.String()
    scopes = fields.List(fields.String(), metadata={"description": "The key's scopes, which the token holds."})


class MeSchema(Schema):
    sub = fields.String()
    org = fields.String()
    role = fields.String()
    email = fields.String()
    scopes = fields.List(fields.String(), allow_none=True,
                         metadata={"description": "The scopes of an API key caller (or of a token exchanged "
                                                  "from a key); null when the caller is not limited by scopes."})
    officer = fields.Boolean(metadata={"description": "The caller may act as an officer: an officer key, or a "
                                                      "customer an admin made an officer (read live)."})


def customer_session(customer) -> dict:
    """A new session for the customer: a token, its type and lifetime, and the account."""
    from flask import current_app

    token = token_for(customer.id, customer.org_id, "customer", customer.email)
    return {"token": token, "tokenType": "Bearer",
            "expiresIn": current_app.config["BOXOFFICE"].jwt_ttl_seconds, "customer": customer}


@blp.route("/client/auth/register")
@throttled(blp, REGISTER)
class Register(MethodView):
    @blp.arguments(RegisterSchema)
    @blp.response(201, SessionSchema)
    def post(self, data):
        """Create a customer account and return a token (409 `email_taken` if the email exists). The account
        starts with `emailVerified: false`; a verification link is e-mailed when the organisation sends e-mail."""
        customer = accounts.register_customer(current_org(), **data)
        return customer_session(customer)


@blp.route("/client/auth/login")
@throttled(blp, LOGIN)
class Login(MethodView):
    @blp.arguments(LoginSchema)
    @blp.response(200, SessionSchema)
    def post(self, data):
        """Log a customer in (401 `invalid_credentials` without saying which part was wrong)."""
        customer = accounts.authenticate_customer(current_org(), **data)
        return customer_session(customer)


@blp.route("/client/auth/profile")
class Profile(MethodView):
    @require_role("customer")
    @blp.response(200, CustomerSchema)
    def get(self):
        """My account: e-mail (and whether it is verified, with a `reminder` while it is not), name, phone,
        username and whether I am an officer of the club."""
        return accounts.profile(current_org(), current_identity().sub)

    @require_role("customer")
    @blp.arguments(ProfileUpdateSchema)
    @blp.response(200, CustomerSchema)
    def patch(self, data):
        """Change my `name`, `phone` and/or `username` (null removes it); 422 `invalid_username`,
        `username_taken`."""
        return accounts.update_profile(current_org(), current_identity().sub, **data)


@blp.route("/client/auth/logout-all")
class LogoutEverywhere(MethodView):
    @require_role("customer")
    @blp.response(204)
    def post(self):
        """End every session of my account, this one included: each token issued so far answers 401
        `session_revoked` (within a second on every worker). Log in again for a new token."""
        accounts.end_sessions(current_org(), current_identity().sub)


@blp.route("/client/auth/password")
@throttled(blp, PASSWORD_CHANGE)
class ChangePassword(MethodView):
    @require_role("customer")
    @blp.arguments(PasswordChangeSchema)
    @blp.response(200, SessionSchema)
    def post(self, data):
        """Change my password (403 `wrong_password` if `currentPassword` is wrong). Every other session ends
        (401 `session_revoked`) and a pending password reset link stops working; the answer carries a new token
        for this one."""
        customer = accounts.change_password(current_org(), current_identity().sub,
                                            current_password=data["currentPassword"],
                                            new_password=data["newPassword"])
        return customer_session(customer)


@blp.route("/auth/token")
@throttled(blp, API_KEY)
class StaffToken(MethodView):
    @blp.arguments(ApiKeyExchangeSchema)
    @blp.response(200, StaffTokenSchema)
    def post(self, data):
        """Exchange a staff/admin API key for a JWT."""
        from flask import current_app

        key = accounts.authenticate_api_key(current_org(), data["apiKey"])
        scopes = key.scopes.split()
        token = token_for(f"{API_KEY_SUB}{key.id}", key.org_id, key.role, key.name, scopes=frozenset(scopes))
        return {"token": token, "tokenType": "Bearer", "role": key.role, "scopes": scopes,
                "expiresIn": current_app.config["BOXOFFICE"].jwt_ttl_seconds}


@blp.route("/auth/me")
class Me(MethodView):
    @require_role(EVERYONE, MEMBER, scope="read")
    @blp.response(200, MeSchema)
    def get(self):
        """Who the bearer token or API key belongs to, the scopes it holds and whether it acts as an officer."""
        identity = current_identity()
        scopes = None if identity.scopes is None else [s for s in SCOPES if s in identity.scopes]
        return {"sub": identity.sub, "org": identity.org, "role": identity.role, "email": identity.email,
                "scopes": scopes, "officer": is_officer(identity)}

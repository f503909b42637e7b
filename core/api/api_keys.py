"""The tenant's staff API keys over HTTP, for its admins (`/org/api-keys`): list, issue, change, revoke.

Thin views over `core.services.api_keys`; the hosting operator's routes (`tenants.api`) answer with the same
schemas, defined here.
"""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import fields, validate

from core.api.blueprint import Blueprint
from core.api.fields import UtcTime
from core.api_keys import SCOPE_DOCS, SCOPES
from core.api_schema import Schema
from core.auth import current_identity, require_role
from core.models.tenant import API_KEY_ROLES
from core.roles import ADMINS, ROLE_DOCS
from core.services import api_keys
from core.tenancy import current_org

blp = Blueprint("api_keys", __name__, description="The organisation's staff API keys (admins only)")

SCOPES_DOC = "What the key may do: " + "; ".join(f"`{name}`: {doc}" for name, doc in SCOPE_DOCS.items())
ROLE_DOC = "; ".join(f"`{role}`: {doc}" for role, doc in ROLE_DOCS.items())
TIME = {"type": "string", "format": "date-time"}


def _scopes_list(**kwargs) -> fields.List:
    return fields.List(fields.String(validate=validate.OneOf(SCOPES)), validate=validate.Length(min=1, max=len(SCOPES)),
                       **kwargs)


class ApiKeyCreateSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    role = fields.String(load_default="staff", validate=validate.OneOf(API_KEY_ROLES),
                         metadata={"description": ROLE_DOC})
    scopes = _scopes_list(load_default=None, metadata={"description": SCOPES_DOC + " Default: every scope."})


class ApiKeyUpdateSchema(Schema):
    name = fields.String(validate=validate.Length(min=1, max=200))
    role = fields.String(validate=validate.OneOf(API_KEY_ROLES), metadata={"description": ROLE_DOC})
    scopes = _scopes_list(metadata={"description": SCOPES_DOC})


def _scopes_field() -> fields.Function:
    return fields.Function(lambda key: key.scopes.split(), metadata={
        "type": "array", "items": {"type": "string", "enum": list(SCOPES)}, "description": SCOPES_DOC})


class ApiKeySchema(Schema):
    """A key as listed: never the key itself or its hash."""

    id = fields.String()
    name = fields.String()
    role = fields.String()
    scopes = _scopes_field()
    prefix = fields.String(metadata={"description": "The key's first characters, to tell keys apart."})
    createdAt = UtcTime(attribute="created_at", metadata=TIME)
    lastUsedAt = UtcTime(attribute="last_used_at", allow_none=True, metadata=TIME | {
        "description": "When the key was last sent (directly or to /auth/token), to the minute; null when never."})
    revokedAt = UtcTime(attribute="revoked_at", allow_none=True, metadata=TIME)


class ApiKeyCreatedSchema(Schema):
    """A key just issued, with the key itself (the only time it is shown)."""

    id = fields.String()
    name = fields.String()
    role = fields.String()
    scopes = _scopes_field()
    apiKey = fields.String(metadata={"description": "Shown once; store it now. Send it as `Authorization: Token "
                                                    "<key>` (or `Bearer <key>`), or exchange it at /auth/token."})


@blp.route("/org/api-keys")
class OrgApiKeys(MethodView):
    @require_role(ADMINS, scope="admin")
    @blp.response(200, ApiKeySchema(many=True))
    def get(self):
        """The organisation's API keys, newest first, revoked ones included (never the keys themselves)."""
        return api_keys.list_api_keys(current_org())

    @require_role(ADMINS, scope="admin")
    @blp.arguments(ApiKeyCreateSchema)
    @blp.response(201, ApiKeyCreatedSchema)
    def post(self, data):
        """Issue a staff, admin or officer API key holding `scopes` (default: every scope); the key is shown in
        this answer only. An officer key may only view tickets, check in and undo a check-in, whatever its
        scopes."""
        record, key = api_keys.issue_api_key(current_org(), data["name"], data["role"], data["scopes"])
        record.apiKey = key  # dumped by this response only
        return record


@blp.route("/org/api-keys/<key_id>")
class OrgApiKey(MethodView):
    @require_role(ADMINS, scope="admin")
    @blp.arguments(ApiKeyUpdateSchema)
    @blp.response(200, ApiKeySchema)
    @blp.error_responses({404: "`api_key_not_found`", 409: "`own_api_key`: the key this request is sent with "
                                                           "would lose the admin role or scope; "
                                                           "`api_key_revoked_already`"})
    def patch(self, data, key_id):
        """Change a key's `role`, `name` and/or `scopes` (e.g. make a staff key an officer). The key, and the
        tokens exchanged from it, act with the new role and scopes from their next request (within a second on
        every worker, as a revocation)."""
        return api_keys.update_api_key(current_org(), key_id, name=data.get("name"), role=data.get("role"),
                                       scopes=data.get("scopes"), caller=current_identity())

    @require_role(ADMINS, scope="admin")
    @blp.response(200, ApiKeySchema)
    @blp.error_responses({404: "`api_key_not_found`", 409: "`own_api_key`: the key this request is sent with"})
    def delete(self, key_id):
        """Revoke a key: it can no longer be sent or exchanged, and tokens already issued from it get 401
        `api_key_revoked` (within a second on every worker). Repeating is harmless."""
        return api_keys.revoke_api_key(current_org(), key_id, caller=current_identity())

"""The operator API under /operator/*: the same operations as `boxoffice tenants`, for hosting tooling.

Guarded by the deployment's operator token (BOXOFFICE_OPERATOR_TOKEN); needs no `orgid` header and never
returns a secret after creation (API keys once, plugin settings masked, signing private keys never).
"""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView
from marshmallow import ValidationError, fields, validate, validates_schema

from core.api.api_keys import ApiKeyCreatedSchema, ApiKeyCreateSchema, ApiKeySchema
from core.api.blueprint import Blueprint
from core.api.cors import CORS_ORIGINS_DOC, EMBED_ORIGINS_DOC, origins_field
from core.api.members import MemberInviteCreate, MemberInviteCreated, issued_view
from core.api.throttle import Guard, document_429, throttle_blueprint
from core.api_schema import Schema
from core.auth import admit_operator
from core.errors import Unprocessable
from core.operator_token import require_operator_token
from core.roles import MEMBER_ROLES
from core.services import api_keys, member_invites, orgs, participation
from core.tenancy import tenant_exempt
from core.timefmt import iso_utc
from core.web_origins import cors_origins, embed_origins
from tenants import service

blp = tenant_exempt(Blueprint("operator", __name__, url_prefix="/operator",
                              description="Hosting operator: tenants and their plugins. Every route needs "
                                          "`Authorization: Bearer <BOXOFFICE_OPERATOR_TOKEN>`."))
# A wrong operator token is counted per client address (one token, so no account to count it under).
throttle_blueprint(blp, Guard("operator", frozenset({401})))


@blp.before_request
def _operator_only():
    """Every operator route: the operator token (`core.operator_token`), then the operator as the actor."""
    require_operator_token()
    admit_operator()  # the audit log names the operator as the actor of its changes


def operator_only(func):
    """Document a view as needing the operator token (its security scheme and 401 answer)."""
    func = blp.error_responses({401: "Missing or wrong operator token"})(func)
    func = document_429(blp, func)
    return blp.doc(security=[{"operatorToken": []}])(func)


def names_a_tenant(func):
    """Document the 404 of a view whose path names a tenant (and maybe a plugin)."""
    return blp.error_responses({404: "`unknown_org` or `unknown_plugin`"})(func)


def _setting_value(key: str, value) -> str | None:
    """A JSON setting value as the string the CLI would store (None removes the key)."""
    if isinstance(value, dict | list):
        raise Unprocessable("Setting values are strings, numbers or booleans.", type="invalid_setting",
                            errors={"json": {key: ["Not a scalar."]}})
    if value is None:
        return None
    return str(value).lower() if isinstance(value, bool) else str(value)


class TenantCreateSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    orgId = fields.String(load_default=None, validate=validate.Regexp(service.ORG_ID_PATTERN),
                          metadata={"description": "Chosen orgid; generated from the name when omitted."})
    timezone = fields.String(load_default="UTC")
    plugins = fields.List(fields.String(), load_default=None,
                          metadata={"description": "Plugins to enable; defaults to BOXOFFICE_DEFAULT_PLUGINS."})


class TenantUpdateSchema(Schema):
    name = fields.String(validate=validate.Length(min=1, max=200))
    active = fields.Boolean(metadata={"description": "false: every request with this orgid gets 404."})
    timezone = fields.String()
    holdMinutes = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=1440),
                                 metadata={"description": "Seat hold TTL; null uses the deployment default."})
    participantsVisibility = fields.String(validate=validate.OneOf(participation.VISIBILITIES),
                                           metadata={"description": "Who customers see attending sessions."})
    corsOrigins = origins_field(CORS_ORIGINS_DOC)
    embedOrigins = origins_field(EMBED_ORIGINS_DOC)
    defaultGateway = fields.String(validate=validate.Length(max=64), metadata={
        "description": "Payment gateway for purchases that name none; \"\" clears it (see docs/payments.md)."})

    @validates_schema
    def _not_empty(self, data, **kwargs):
        if not data:
            raise ValidationError("Send at least one of name, active, timezone, holdMinutes, "
                                  "participantsVisibility, corsOrigins, embedOrigins, defaultGateway.")


def _utc_time(attribute: str, description: str | None = None, **kwargs) -> fields.Function:
    """A stored (naive UTC) time written like every API time: ISO 8601 to the second with `Z`."""
    metadata = {"type": "string", "format": "date-time"} | ({"description": description} if description else {})
    return fields.Function(lambda row: iso_utc(getattr(row, attribute)), metadata=metadata, **kwargs)


class TenantSchema(Schema):
    orgid = fields.String(attribute="id")
    name = fields.String()
    active = fields.Boolean()
    timezone = fields.String()
    holdMinutes = fields.Integer(attribute="hold_minutes", allow_none=True)
    defaultGateway = fields.Function(lambda org: (org.settings or {}).get("default_gateway"), allow_none=True)
    publicKey = fields.String(attribute="signing_public_key",
                              metadata={"description": "Ed25519 key (base64) that verifies ticket QR codes."})
    corsOrigins = origins_field(CORS_ORIGINS_DOC, cors_origins)
    embedOrigins = origins_field(EMBED_ORIGINS_DOC, embed_origins)
    plugins = fields.Method("_plugins", metadata={"type": "array", "items": {"type": "string"},
                                                  "description": "The plugins enabled for this tenant."})
    createdAt = _utc_time("created_at")

    def _plugins(self, org):
        return service.enabled_plugins(org)


class CreatedTenantSchema(TenantSchema):
    adminApiKey = fields.String(metadata={"description": "Shown once; store it now."})


class PluginStateSchema(Schema):
    plugin = fields.String()
    enabled = fields.Boolean()


class PluginSettingsSchema(Schema):
    """A plugin's settings for one tenant: string values; secret-looking keys are masked."""

    class Meta:
        unknown = "include"


def settings_response(func):
    """Answer 200 with a free-form settings object (no schema dump, which would drop every key)."""
    content = {"application/json": {"schema": {"type": "object", "additionalProperties": {"type": "string"}}}}
    func = blp.doc(responses={200: {"content": content}})(func)
    return blp.response(200, description="Setting name to value; secret-looking values are masked.")(func)


class PluginOverviewSchema(Schema):
    name = fields.String()
    description = fields.String()
    tenants = fields.List(fields.String())


@blp.route("/tenants")
class Tenants(MethodView):
    @operator_only
    @blp.response(200, TenantSchema(many=True))
    def get(self):
        """List every tenant with its enabled plugins (never a key or secret)."""
        return service.list_tenants()

    @operator_only
    @blp.arguments(TenantCreateSchema)
    @blp.response(201, CreatedTenantSchema)
    @blp.error_responses({409: "`tenant_exists`"})
    def post(self, data):
        """Create a tenant; the response carries its first admin API key, shown only this once."""
        created = service.create_tenant(data["name"], org_id=data["orgId"], timezone=data["timezone"],
                                        plugins=tuple(data["plugins"]) if data["plugins"] is not None else None,
                                        default_plugins=current_app.config["BOXOFFICE"].default_plugins)
        created.org.adminApiKey = created.admin_api_key  # dumped by this response only
        return created.org


@blp.route("/tenants/<org_id>")
class Tenant(MethodView):
    @operator_only
    @names_a_tenant
    @blp.response(200, TenantSchema)
    def get(self, org_id):
        """One tenant (no secrets)."""
        return orgs.get_org(org_id)

    @operator_only
    @names_a_tenant
    @blp.arguments(TenantUpdateSchema)
    @blp.response(200, TenantSchema)
    def patch(self, data, org_id):
        """Rename, deactivate/reactivate, re-zone a tenant, set its hold TTL, participantsVisibility,
        corsOrigins or embedOrigins."""
        return orgs.update_org(org_id, name=data.get("name"), active=data.get("active"),
                               timezone=data.get("timezone"), hold_minutes=data.get("holdMinutes"),
                               clear_hold_minutes="holdMinutes" in data and data["holdMinutes"] is None,
                               participants_visibility=data.get("participantsVisibility"),
                               cors_origins=data.get("corsOrigins"), embed_origins=data.get("embedOrigins"),
                               default_gateway=data.get("defaultGateway"))


@blp.route("/tenants/<org_id>/api-keys")
class TenantApiKeys(MethodView):
    @operator_only
    @names_a_tenant
    @blp.arguments(ApiKeyCreateSchema)
    @blp.response(201, ApiKeyCreatedSchema)
    def post(self, data, org_id):
        """Create a staff, admin or officer API key for the tenant holding `scopes` (default: every scope; shown
        once). An officer key may only view tickets, check in and undo a check-in, whatever its scopes."""
        record, key = api_keys.issue_api_key(orgs.get_org(org_id), data["name"], data["role"], data["scopes"])
        record.apiKey = key  # dumped by this response only
        return record

    @operator_only
    @names_a_tenant
    @blp.response(200, ApiKeySchema(many=True))
    def get(self, org_id):
        """The tenant's API keys, newest first, revoked ones included (never the keys themselves)."""
        return service.list_api_keys(org_id)


@blp.route("/tenants/<org_id>/api-keys/<key_id>")
class TenantApiKey(MethodView):
    @operator_only
    @blp.error_responses({404: "`unknown_org` or `unknown_api_key`"})
    @blp.response(200, ApiKeySchema)
    def delete(self, org_id, key_id):
        """Revoke an API key: it can no longer be exchanged for a token, and tokens already issued from it
        are refused with 401 `api_key_revoked` (within a second on every worker). Repeating is harmless."""
        return service.revoke_api_key(org_id, key_id)


class OperatorInvite(MemberInviteCreate):
    role = fields.String(load_default="admin", validate=validate.OneOf(MEMBER_ROLES),
                         metadata={"description": "Default `admin`: the tenant's first admin"})


@blp.route("/tenants/<org_id>/members/invites")
class TenantMemberInvites(MethodView):
    @operator_only
    @names_a_tenant
    @blp.arguments(OperatorInvite)
    @blp.response(201, MemberInviteCreated)
    @blp.error_responses({409: "`already_a_member`"})
    def post(self, data, org_id):
        """Invite a staff member of the tenant, by default its first admin: the same invitation an admin makes at
        POST /org/members/invites (e-mailed by the tenant's e-mail plugin, else its link and token shown in this
        answer only)."""
        return issued_view(member_invites.invite_member(orgs.get_org(org_id), data["email"], data["role"],
                                                        invited_by="operator"))


class DomainCreateSchema(Schema):
    hostname = fields.String(required=True, validate=validate.Length(min=1, max=300), metadata={
        "description": "e.g. tickets.club.example (any case; stored lower-case, no port)"})


class DomainSchema(Schema):
    hostname = fields.String()
    orgId = fields.String(attribute="org_id")
    createdAt = fields.Function(lambda domain: iso_utc(domain.created_at))


@blp.route("/tenants/<org_id>/domains")
class TenantDomains(MethodView):
    @operator_only
    @blp.error_responses({404: "`unknown_org`", 409: "`domain_taken` (another tenant's)",
                          422: "`invalid_hostname`"})
    @blp.arguments(DomainCreateSchema)
    @blp.response(201, DomainSchema)
    def post(self, data, org_id):
        """Serve the tenant at a hostname as well: a request whose `Host` is that hostname needs no `orgid` header
        (an `orgid` naming another tenant is 403 `org_mismatch`). Unique across the deployment; adding the
        tenant's own hostname again is harmless. Every worker sees it within a second."""
        return service.add_domain(org_id, data["hostname"])

    @operator_only
    @names_a_tenant
    @blp.response(200, DomainSchema(many=True))
    def get(self, org_id):
        """The hostnames the tenant is served at."""
        return service.list_domains(org_id)


@blp.route("/tenants/<org_id>/domains/<hostname>")
class TenantDomainView(MethodView):
    @operator_only
    @blp.error_responses({404: "`unknown_org` or `unknown_domain`"})
    @blp.response(204)
    def delete(self, org_id, hostname):
        """Stop serving the tenant at this hostname (its requests need the `orgid` header again)."""
        service.remove_domain(org_id, hostname)


@blp.route("/tenants/<org_id>/plugins/<plugin>/enable")
class EnablePlugin(MethodView):
    @operator_only
    @names_a_tenant
    @blp.response(200, PluginStateSchema)
    def post(self, org_id, plugin):
        """Enable a plugin for the tenant."""
        service.set_plugin_enabled(org_id, plugin, True)
        return {"plugin": plugin, "enabled": True}


@blp.route("/tenants/<org_id>/plugins/<plugin>/disable")
class DisablePlugin(MethodView):
    @operator_only
    @names_a_tenant
    @blp.response(200, PluginStateSchema)
    def post(self, org_id, plugin):
        """Disable a plugin for the tenant (its hooks stop running, its routes answer 404)."""
        service.set_plugin_enabled(org_id, plugin, False)
        return {"plugin": plugin, "enabled": False}


@blp.route("/tenants/<org_id>/plugins/<plugin>/settings")
class PluginSettings(MethodView):
    @operator_only
    @names_a_tenant
    @settings_response
    def get(self, org_id, plugin):
        """The tenant's settings for a plugin, secrets masked."""
        return service.masked_plugin_settings(org_id, plugin)

    @operator_only
    @names_a_tenant
    @blp.arguments(PluginSettingsSchema, location="json")
    @settings_response
    def patch(self, data, org_id, plugin):
        """Merge key/value settings (an empty string or null removes a key); answers with secrets masked.

        Values are stored as strings, exactly as `boxoffice tenants config ORG PLUGIN key=value` does.
        """
        values = {str(key): _setting_value(str(key), value) for key, value in data.items()}
        return service.configure_plugin(org_id, plugin, values)


@blp.route("/plugins")
class Plugins(MethodView):
    @operator_only
    @blp.response(200, PluginOverviewSchema(many=True))
    def get(self):
        """Every installed plugin and which tenants enabled it."""
        return service.plugin_overview()

"""The operator API under /operator/*: the same operations as `boxoffice tenants`, for hosting tooling.

Guarded by the deployment's operator token (BOXOFFICE_OPERATOR_TOKEN); needs no `orgid` header.
"""

from __future__ import annotations

import hmac

from flask import current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from core.errors import Unauthorized
from core.tenancy import tenant_exempt
from tenants import service

blp = tenant_exempt(Blueprint("operator", __name__, url_prefix="/operator",
                              description="Hosting operator: tenants and their plugins"))


@blp.before_request
def _require_operator_token():
    expected = current_app.config["BOXOFFICE"].operator_token
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), expected.encode()):
        raise Unauthorized("Send the operator token as `Authorization: Bearer <token>`.",
                           type="invalid_operator_token")


class TenantCreateSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    orgId = fields.String(load_default=None, validate=validate.Regexp(r"^[a-z0-9][a-z0-9-]{1,62}$"))
    timezone = fields.String(load_default="UTC")
    plugins = fields.List(fields.String(), load_default=None)


class TenantSchema(Schema):
    orgid = fields.String(attribute="id")
    name = fields.String()
    active = fields.Boolean()
    timezone = fields.String()
    publicKey = fields.String(attribute="signing_public_key")
    plugins = fields.Method("_plugins")
    createdAt = fields.DateTime(attribute="created_at")

    def _plugins(self, org):
        return service.enabled_plugins(org)


class CreatedTenantSchema(TenantSchema):
    adminApiKey = fields.String(metadata={"description": "Shown once; store it now."})


class ApiKeyCreateSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    role = fields.String(load_default="staff", validate=validate.OneOf(["staff", "admin"]))


class ApiKeyCreatedSchema(Schema):
    name = fields.String()
    role = fields.String()
    apiKey = fields.String(metadata={"description": "Shown once; store it now."})


class PluginStateSchema(Schema):
    plugin = fields.String()
    enabled = fields.Boolean()


class PluginOverviewSchema(Schema):
    name = fields.String()
    description = fields.String()
    tenants = fields.List(fields.String())


@blp.route("/tenants")
class Tenants(MethodView):
    @blp.response(200, TenantSchema(many=True))
    def get(self):
        """List every tenant with its enabled plugins."""
        return service.list_tenants()

    @blp.arguments(TenantCreateSchema)
    @blp.response(201, CreatedTenantSchema)
    def post(self, data):
        """Create a tenant; the response carries its first admin API key, shown only this once."""
        created = service.create_tenant(data["name"], org_id=data["orgId"], timezone=data["timezone"],
                                        plugins=tuple(data["plugins"]) if data["plugins"] is not None else None,
                                        default_plugins=current_app.config["BOXOFFICE"].default_plugins)
        created.org.adminApiKey = created.admin_api_key
        return created.org


@blp.route("/tenants/<org_id>")
class Tenant(MethodView):
    @blp.response(200, TenantSchema)
    def get(self, org_id):
        """One tenant (no secrets)."""
        return service.get_tenant(org_id)


@blp.route("/tenants/<org_id>/api-keys")
class TenantApiKeys(MethodView):
    @blp.arguments(ApiKeyCreateSchema)
    @blp.response(201, ApiKeyCreatedSchema)
    def post(self, data, org_id):
        """Create a staff or admin API key for the tenant (shown once)."""
        org = service.get_tenant(org_id)
        key = service.create_api_key(org, data["name"], data["role"])
        return {"name": data["name"], "role": data["role"], "apiKey": key}


@blp.route("/tenants/<org_id>/plugins/<plugin>/enable")
class EnablePlugin(MethodView):
    @blp.response(200, PluginStateSchema)
    def post(self, org_id, plugin):
        """Enable a plugin for the tenant."""
        service.set_plugin_enabled(org_id, plugin, True)
        return {"plugin": plugin, "enabled": True}


@blp.route("/tenants/<org_id>/plugins/<plugin>/disable")
class DisablePlugin(MethodView):
    @blp.response(200, PluginStateSchema)
    def post(self, org_id, plugin):
        """Disable a plugin for the tenant (its hooks stop running, its routes answer 404)."""
        service.set_plugin_enabled(org_id, plugin, False)
        return {"plugin": plugin, "enabled": False}


@blp.route("/tenants/<org_id>/plugins/<plugin>/settings")
class PluginSettings(MethodView):
    @blp.response(200)
    def get(self, org_id, plugin):
        """The tenant's settings for a plugin, secrets masked."""
        service.get_tenant(org_id)
        return service.mask_settings(service.plugin_settings(org_id, plugin))

    @blp.arguments(Schema.from_dict({}, name="PluginSettingsPatch")(unknown="include"), location="json")
    @blp.response(200)
    def patch(self, data, org_id, plugin):
        """Merge key/value settings (an empty value removes a key); answers with secrets masked."""
        values = {str(k): (v if v is None else str(v)) for k, v in data.items()}
        return service.configure_plugin(org_id, plugin, values)


@blp.route("/plugins")
class Plugins(MethodView):
    @blp.response(200, PluginOverviewSchema(many=True))
    def get(self):
        """Every installed plugin and which tenants enabled it."""
        return service.plugin_overview()

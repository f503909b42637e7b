"""`GET /ready`: the readiness probe (`core.readiness`): 200 when the database, Redis (when configured) and the
schema are ready, 503 naming the check that failed. `/health` stays the liveness probe that touches nothing.

A thin view over the checks; needs no tenant and no credentials, and answers no driver error text.
"""

from __future__ import annotations

from flask import current_app
from marshmallow import fields

from core.api.blueprint import Blueprint
from core.api_schema import Schema
from core.plugins import get_host
from core.readiness import readiness
from core.tenancy import tenant_exempt

blp = tenant_exempt(Blueprint("ready", __name__, description="Readiness"))


class CheckSchema(Schema):
    ok = fields.Boolean(required=True)
    error = fields.String(allow_none=True, metadata={"description": "Why it failed (no driver detail)."})
    pending = fields.List(fields.String(), metadata={"description": "Migrations not applied: component, version, "
                                                                    "name."})


class ReadySchema(Schema):
    ready = fields.Boolean(required=True, metadata={"description": "True when every check passed."})
    failed = fields.List(fields.String(), required=True, metadata={"description": "The checks that failed."})
    checks = fields.Dict(keys=fields.String(), values=fields.Nested(CheckSchema), required=True,
                         metadata={"description": "`database`, `redis` (when BOXOFFICE_REDIS_URL is set) and "
                                                  "`migrations` (core and loaded plugins)."})


@blp.route("/ready")
@blp.response(200, ReadySchema)
@blp.alt_response(503, schema=ReadySchema, description="A check failed: `failed` names it")
def ready():
    """Ready to take traffic: the database answers, Redis answers (when configured), every migration is applied."""
    checks = readiness(current_app.config["BOXOFFICE"], get_host())
    failed = [name for name, check in checks.items() if not check.ok]
    body = {"ready": not failed, "failed": failed,
            "checks": {name: {"ok": c.ok, "error": c.error, "pending": c.pending} for name, c in checks.items()}}
    return body, (503 if failed else 200)

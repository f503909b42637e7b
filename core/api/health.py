"""Liveness endpoint; also the no-op baseline the benchmarks compare against.

Needs no tenant and touches no table.
"""

from marshmallow import fields

from core.api.blueprint import Blueprint
from core.api_schema import Schema
from core.tenancy import tenant_exempt

blp = tenant_exempt(Blueprint("health", __name__, description="Liveness"))


class HealthSchema(Schema):
    ok = fields.Boolean(metadata={"description": "Always true while the process serves requests."})


@blp.route("/health")
@blp.response(200, HealthSchema)
def health():
    """Answer `{"ok": true}` without touching the database."""
    return {"ok": True}

"""Liveness endpoint; also the no-op baseline the benchmarks compare against.

Needs no tenant and touches no table.
"""

from flask_smorest import Blueprint

from core.tenancy import tenant_exempt

blp = tenant_exempt(Blueprint("health", __name__, description="Liveness"))


@blp.route("/health")
@blp.response(200)
def health():
    """Answer `{"ok": true}` without touching the database."""
    return {"ok": True}

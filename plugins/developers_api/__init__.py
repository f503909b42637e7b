"""002's partner "Developers V1.0" API at `/developers/v1.0/...`: list and get events, list an event's ticket
tiers, create tickets for a participant (one signed PDF link per tier) and list participants, in 002's exact
shapes, authenticated by a staff API key sent as `Authorization: Bearer <key>` (no `orgid`: the key names the
tenant).

Translates to the core's services and adds no rule of its own. Off unless a tenant enables it.
"""

from __future__ import annotations

from core.hookspecs import hookimpl


@hookimpl
def register_routes(api, app):
    """Mount the partner routes at `/developers/v1.0` (served under `/api` too, as every route is)."""
    from plugins.developers_api.api import blp

    api.register_blueprint(blp, url_prefix="/developers/v1.0")

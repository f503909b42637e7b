"""003's public v2 events API at `/api/public/v2/...`: the core's events in 003's exact shapes, with stable
numeric ids (`core.kits.public_ids`) in place of UUIDs, authenticated by an API key (`Authorization: Token
<key>` or `Bearer <key>`) whose tenant is the request's; no `orgid` header.

Translates to the core's services and views and adds no rule of its own. Off unless a tenant enables it.
"""

from __future__ import annotations

from core.hookspecs import hookimpl


@hookimpl
def register_routes(api, app):
    """Mount the v2 event, ticket type, list, refund, template, event setting and wallet template routes at
    `/public/v2` (served at `/api/public/v2` too, as every route is)."""
    from plugins.public_api_v2 import lists, templates, ticket_types, wallet_templates  # noqa: F401  (join it)
    from plugins.public_api_v2.api import blp

    api.register_blueprint(blp, url_prefix="/public/v2")

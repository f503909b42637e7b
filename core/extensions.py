"""Deployment-wide extensions: packages built on the core for the whole deployment, not switched per tenant
(the operator API and `boxoffice tenants` commands of `tenants` are one), found through entry points.

The core never names an extension and never imports one; per-tenant plugins are `core.plugins`, not here.
"""

from __future__ import annotations

import pluggy

from core.hookspecs import hookspec

ENTRY_POINT_GROUP = "boxoffice.extensions"


class ExtensionSpec:
    """The hooks an extension may implement (with `core.hookspecs.hookimpl`), each optional."""

    @hookspec
    def register_routes(self, api, app):
        """Register the extension's flask-smorest blueprints on `api` (`app` is the Flask app); once per app."""

    @hookspec
    def register_commands(self, cli):
        """Add click commands or groups to the `boxoffice` command line (`cli` is its click group)."""

    @hookspec
    def serve_demo(self, app, base_url):
        """`boxoffice run --demo`: seed demo data once (inside `app`'s context) and print how to try it at
        `base_url`."""


_manager: pluggy.PluginManager | None = None


def extensions() -> pluggy.PluginManager:
    """The process's extension manager, every extension in the `boxoffice.extensions` group loaded (once)."""
    global _manager
    if _manager is None:
        manager = pluggy.PluginManager("boxoffice")
        manager.add_hookspecs(ExtensionSpec)
        manager.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
        _manager = manager
    return _manager

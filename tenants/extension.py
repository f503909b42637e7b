"""How `tenants` plugs into the core: the operator API, the `tenants` and `plugins` commands, the demo tenant.

Declared in the `boxoffice.extensions` entry-point group; only wires, never holds a rule.
"""

from __future__ import annotations

from core.hookspecs import hookimpl


@hookimpl
def register_routes(api) -> None:
    """Serve the operator API (`/operator/...`)."""
    from tenants.api import blp

    api.register_blueprint(blp)


@hookimpl
def register_commands(cli) -> None:
    """Add `boxoffice tenants ...` and `boxoffice plugins ...`."""
    from tenants.cli import plugins_group, tenants_group

    cli.add_command(tenants_group)
    cli.add_command(plugins_group)


@hookimpl
def serve_demo(app, base_url: str) -> None:
    """Create the demo tenant on first run and print its credentials."""
    from tenants.demo import ensure_demo_tenant, print_demo

    with app.app_context():
        info = ensure_demo_tenant(app)
    print_demo(info, base_url)

"""`boxoffice tenants ...` and `boxoffice plugins list`: the operator's command line.

Thin wrappers over `tenants.service`; API keys are printed once at creation and never again.
"""

from __future__ import annotations

import click

from core.api_keys import SCOPES
from core.errors import ApiError
from core.identity import OPERATOR, Actor
from core.models.tenant import API_KEY_ROLES
from core.roles import MEMBER_ROLES

CLI_ACTOR = Actor(kind="operator", id=OPERATOR, label="boxoffice CLI")
"""Who the audit log names for a change made on the command line."""


def _run(fn):
    """Build the app (config from env, migrations applied), then run `fn(app)` with a connection open.

    Service errors become a one-line message and exit status 1. The audit log names the operator's CLI as
    the actor.
    """
    from core import db as database
    from core.app import create_app
    from core.services import audit

    app = create_app(listen=False)  # a one-shot command: it announces its changes, it need not hear others'
    with app.app_context(), database.db.connection_context(), audit.acting_as(CLI_ACTOR):
        try:
            return fn(app)
        except ApiError as exc:
            raise click.ClickException(f"{exc.message} ({exc.type})") from exc


@click.group("tenants")
def tenants_group():
    """Create and manage tenants (organisations)."""


@tenants_group.command("create")
@click.argument("name")
@click.option("--org-id", default=None, help="Choose the orgid instead of generating one.")
@click.option("--timezone", default="UTC", show_default=True)
def create(name, org_id, timezone):
    """Create a tenant: new orgid, Ed25519 signing keypair, first admin API key (shown once)."""
    from tenants import service

    def do(app):
        created = service.create_tenant(name, org_id=org_id, timezone=timezone,
                                        default_plugins=app.config["BOXOFFICE"].default_plugins)
        click.echo(f"orgid:          {created.org.id}")
        click.echo(f"name:           {created.org.name}")
        click.echo(f"plugins:        {', '.join(service.enabled_plugins(created.org)) or '-'}")
        click.echo(f"public key:     {created.org.signing_public_key}")
        click.echo(f"admin API key:  {created.admin_api_key}   (shown once: store it now)")

    _run(do)


@tenants_group.command("list")
def list_():
    """List tenants and the plugins each enabled."""
    from tenants import service

    def do(app):
        for org in service.list_tenants():
            state = "active" if org.active else "disabled"
            click.echo(f"{org.id}\t{org.name}\t{state}\t{','.join(service.enabled_plugins(org)) or '-'}")

    _run(do)


@tenants_group.command("enable")
@click.argument("org_id")
@click.argument("plugin")
def enable(org_id, plugin):
    """Enable PLUGIN for tenant ORG_ID."""
    from tenants import service

    _run(lambda app: service.set_plugin_enabled(org_id, plugin, True))
    click.echo(f"{plugin} enabled for {org_id}")


@tenants_group.command("disable")
@click.argument("org_id")
@click.argument("plugin")
def disable(org_id, plugin):
    """Disable PLUGIN for tenant ORG_ID."""
    from tenants import service

    _run(lambda app: service.set_plugin_enabled(org_id, plugin, False))
    click.echo(f"{plugin} disabled for {org_id}")


def _set_active(org_id: str, active: bool) -> None:
    from core.services import orgs

    _run(lambda app: orgs.update_org(org_id, active=active))
    click.echo(f"{org_id} {'activated' if active else 'deactivated'}")


@tenants_group.command("deactivate")
@click.argument("org_id")
def deactivate(org_id):
    """Deactivate tenant ORG_ID: every request with its orgid gets 404 until it is activated again."""
    _set_active(org_id, False)


@tenants_group.command("activate")
@click.argument("org_id")
def activate(org_id):
    """Reactivate tenant ORG_ID."""
    _set_active(org_id, True)


@tenants_group.command("config")
@click.argument("org_id")
@click.argument("plugin")
@click.argument("pairs", nargs=-1)
def config(org_id, plugin, pairs):
    """Set PLUGIN settings for ORG_ID as key=value pairs (key= removes a key); no pairs shows them.

    Secret-looking values (keys containing secret, key, token, password...) are printed masked.
    """
    from tenants import service

    values = {}
    for pair in pairs:
        if "=" not in pair:
            raise click.BadParameter(f"{pair!r} is not key=value", param_hint="PAIRS")
        key, _, value = pair.partition("=")
        values[key.strip()] = value
    if values:
        masked = _run(lambda app: service.configure_plugin(org_id, plugin, values))
    else:
        masked = _run(lambda app: service.masked_plugin_settings(org_id, plugin))
    for key, value in sorted(masked.items()):
        click.echo(f"{key}={value}")


@tenants_group.command("api-key")
@click.argument("org_id")
@click.argument("name")
@click.option("--role", type=click.Choice(API_KEY_ROLES), default="staff", show_default=True)
@click.option("--scope", "scopes", multiple=True, type=click.Choice(list(SCOPES)),
              help="A scope the key holds (repeat for several; default: all).")
def api_key(org_id, name, role, scopes):
    """Create a staff, admin or officer API key for ORG_ID (shown once)."""
    from core.services import orgs
    from tenants import service

    key = _run(lambda app: service.create_api_key(orgs.get_org(org_id), name, role, scopes or None))
    click.echo(key)


@tenants_group.command("invite")
@click.argument("org_id")
@click.argument("email")
@click.option("--role", type=click.Choice(MEMBER_ROLES), default="admin", show_default=True)
def invite(org_id, email, role):
    """Invite EMAIL to be a staff member of ORG_ID (by default its first admin): prints the link and its token
    once, or `emailed` when the tenant's e-mail plugin sends it."""
    from core.services import member_invites, orgs

    issued = _run(lambda app: member_invites.invite_member(orgs.get_org(org_id), email, role, invited_by="operator"))
    click.echo("emailed" if issued.emailed else f"{issued.url}\n{issued.token}")


@tenants_group.command("api-keys")
@click.argument("org_id")
def api_keys(org_id):
    """List ORG_ID's API keys: id, name, role, prefix, scopes, created, last used, revoked (never the keys)."""
    from tenants import service

    def moment(value) -> str:
        return value.isoformat(timespec="seconds") + "Z" if value else "-"

    for key in _run(lambda app: service.list_api_keys(org_id)):
        click.echo(f"{key.id}\t{key.name}\t{key.role}\t{key.prefix}\t{key.scopes.replace(' ', ',')}"
                   f"\t{moment(key.created_at)}\t{moment(key.last_used_at)}\t{moment(key.revoked_at)}")


@tenants_group.command("revoke-key")
@click.argument("org_id")
@click.argument("key_id")
def revoke_key(org_id, key_id):
    """Revoke ORG_ID's API key KEY_ID; tokens issued from it stop working within seconds."""
    from tenants import service

    key = _run(lambda app: service.revoke_api_key(org_id, key_id))
    click.echo(f"revoked {key.id} ({key.name})")


@click.group("plugins")
def plugins_group():
    """Installed plugins."""


@plugins_group.command("list")
def plugins_list():
    """Every installed plugin and which tenants enabled it."""
    from tenants import service

    def do(app):
        for row in service.plugin_overview():
            tenants = ", ".join(row["tenants"]) or "(no tenant)"
            click.echo(f"{row['name']:<16} {row['description']}\n{'':<16} enabled for: {tenants}")

    _run(do)


@tenants_group.command("domains")
@click.argument("org_id")
def domains(org_id):
    """List the hostnames ORG_ID is served at (requests to them need no `orgid` header)."""
    from tenants import service

    for domain in _run(lambda app: service.list_domains(org_id)):
        click.echo(domain.hostname)


@tenants_group.command("add-domain")
@click.argument("org_id")
@click.argument("hostname")
def add_domain(org_id, hostname):
    """Serve ORG_ID at HOSTNAME too (unique across the deployment; stored lower-case, no port)."""
    from tenants import service

    domain = _run(lambda app: service.add_domain(org_id, hostname))
    click.echo(f"{domain.hostname} -> {domain.org_id}")


@tenants_group.command("remove-domain")
@click.argument("org_id")
@click.argument("hostname")
def remove_domain(org_id, hostname):
    """Stop serving ORG_ID at HOSTNAME."""
    from tenants import service

    _run(lambda app: service.remove_domain(org_id, hostname))
    click.echo(f"removed {hostname.strip().lower()}")

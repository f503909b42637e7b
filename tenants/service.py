"""Tenant provisioning: create orgs (signing keypair, first admin key), switch plugins, set plugin settings, give
a tenant the hostnames it is served at.

Used by both the `boxoffice tenants` CLI and the `/operator` API; returns plain records, never Flask objects.
An org's own settings change through `core.services.orgs`, and plugins read their settings through `core.plugins`.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from peewee import IntegrityError

from core.db import write_transaction
from core.errors import ApiError, NotFound, Unprocessable
from core.models import ApiKey, Org, TenantDomain, TenantPlugin, utcnow
from core.plugins import get_host, plugin_settings
from core.services import api_keys, audit, gateways
from core.services.orgs import check_timezone, get_org
from core.signing import generate_keypair
from core.tenancy import forget_domains, forget_org, normalise_hostname

SECRET_SETTING_WORDS = ("secret", "password", "private", "token", "key", "credential")
DEFAULT_PLUGINS = ("offline",)   # what a new tenant gets unless BOXOFFICE_DEFAULT_PLUGINS says otherwise
ORG_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
SETTING_KEY_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


@dataclass
class CreatedTenant:
    """A new tenant and its first admin API key (the only time the key is visible)."""

    org: Org
    admin_api_key: str


def _slugify(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return slug[:40] or "org"


def new_org_id(name: str) -> str:
    """A readable, unguessable org id: the name's slug plus a random suffix."""
    return f"{_slugify(name)}-{secrets.token_hex(4)}"


def create_api_key(org: Org, name: str, role: str = "staff", scopes: Iterable[str] | None = None) -> str:
    """Create a staff/admin API key for `org`; returns the key itself (shown once, only its hash is kept)."""
    return api_keys.issue_api_key(org, name, role, scopes)[1]


def list_api_keys(org_id: str) -> list[ApiKey]:
    """The tenant's API keys, newest first, revoked ones included (never the key itself). 404 `unknown_org`."""
    return api_keys.list_api_keys(get_org(org_id))


def revoke_api_key(org_id: str, key_id: str) -> ApiKey:
    """Revoke one of the tenant's API keys (idempotent; `core.services.api_keys.revoke_api_key`). 404
    `unknown_org`, `unknown_api_key` (the operator API's documented type for a key the tenant does not have)."""
    org = get_org(org_id)
    try:
        return api_keys.revoke_api_key(org, key_id)
    except NotFound as exc:
        raise NotFound(f"The tenant {org.id!r} has no API key {str(key_id)[:64]!r}.", type="unknown_api_key") from exc


def list_domains(org_id: str) -> list[TenantDomain]:
    """The hostnames the tenant is served at, alphabetically. 404 `unknown_org`."""
    org = get_org(org_id)
    return list(TenantDomain.select().where(TenantDomain.org == org.id).order_by(TenantDomain.hostname))


def add_domain(org_id: str, hostname: str) -> TenantDomain:
    """Serve the tenant at `hostname` too (requests with that `Host` need no `orgid` header); stored lower-case.
    Idempotent for the tenant's own hostname. 404 `unknown_org`; 422 `invalid_hostname` (not a DNS name, or
    with a port or path); 409 `domain_taken` (another tenant has it). Every worker sees it within seconds."""
    org = get_org(org_id)
    host = normalise_hostname(hostname)
    if host is None:
        raise Unprocessable("A hostname is a DNS name such as tickets.club.example: letters, digits, dashes and "
                            "dots, without a port, scheme or path.", type="invalid_hostname",
                            errors={"hostname": ["not a hostname"]})
    try:
        with write_transaction():
            record = TenantDomain.get_or_none(TenantDomain.hostname == host)
            if record is None:
                record = TenantDomain.create(org=org.id, hostname=host)
                audit.record(org, "org.domain_added", "domain", host, after={"hostname": host})
                forget_domains()  # announced with the commit: every process drops its hostname map at once
    except IntegrityError:  # a concurrent add of the same hostname won
        record = TenantDomain.get_or_none(TenantDomain.hostname == host)
    if record is None or record.org_id != org.id:
        raise ApiError(f"The hostname {host!r} is already served for another tenant.", status=409,
                       type="domain_taken")
    return record


def remove_domain(org_id: str, hostname: str) -> None:
    """Stop serving the tenant at `hostname` (requests with that `Host` need the `orgid` header again). 404
    `unknown_org`, `unknown_domain` (the tenant has no such hostname)."""
    org = get_org(org_id)
    host = normalise_hostname(hostname)
    with write_transaction():
        removed = (TenantDomain.delete().where((TenantDomain.org == org.id) & (TenantDomain.hostname == host))
                   .execute() if host else 0)
        if removed:
            audit.record(org, "org.domain_removed", "domain", host, before={"hostname": host})
            forget_domains()  # announced with the commit: every process drops its hostname map at once
    if not removed:
        raise NotFound(f"The tenant {org.id!r} is not served at {str(hostname)[:253]!r}.", type="unknown_domain")


def create_tenant(name: str, *, org_id: str | None = None, plugins: tuple[str, ...] | None = None,
                  timezone: str = "UTC", default_plugins: tuple[str, ...] | None = None) -> CreatedTenant:
    """Provision a tenant: org row, Ed25519 signing keypair, plugins, first admin API key.

    `plugins` (when given) replaces `default_plugins` (None: `DEFAULT_PLUGINS`, the installed ones of them);
    every name must be installed (422 `unknown_plugin`).
    Afterwards the `tenant_created` hook runs for the plugins the tenant enabled.
    """
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise Unprocessable("A tenant needs a name of 1 to 200 characters.", type="invalid_name")
    if org_id is not None and not ORG_ID_PATTERN.match(org_id):
        raise Unprocessable("An orgid is 2-63 lowercase letters, digits or dashes, starting with a letter "
                            "or digit.", type="invalid_orgid")
    org_id = org_id or new_org_id(name)
    check_timezone(timezone)
    installed = set(get_host().names())
    if plugins is not None:
        unknown = sorted(set(plugins) - installed)
        if unknown:
            raise Unprocessable(f"No plugin {', '.join(unknown)} is installed; `boxoffice plugins list` "
                                "shows them.", type="unknown_plugin")
        chosen = list(dict.fromkeys(plugins))
    else:
        defaults = DEFAULT_PLUGINS if default_plugins is None else default_plugins
        chosen = [p for p in defaults if p in installed]
    private, public = generate_keypair()
    try:
        with write_transaction():
            if Org.get_or_none(Org.id == org_id) is not None:
                raise ApiError(f"Tenant {org_id!r} already exists.", status=409, type="tenant_exists")
            org = Org.create(id=org_id, name=name, timezone=timezone, signing_private_key=private,
                             signing_public_key=public)
            for plugin in chosen:
                TenantPlugin.create(org=org, plugin=plugin, enabled=True)
            key = create_api_key(org, "first admin key", "admin")
    except IntegrityError as exc:  # a concurrent create with the same orgid won the race
        raise ApiError(f"Tenant {org_id!r} already exists.", status=409, type="tenant_exists") from exc
    get_host().forget(org.id)
    get_host().hooks_for(org.id).notify("tenant_created", org=org)
    return CreatedTenant(org=org, admin_api_key=key)


def list_tenants() -> list[Org]:
    """Every tenant, oldest first."""
    return list(Org.select().order_by(Org.created_at, Org.id))


def enabled_plugins(org: Org) -> list[str]:
    """Plugin names the tenant has enabled."""
    rows = TenantPlugin.select().where((TenantPlugin.org == org) & (TenantPlugin.enabled == True))  # noqa: E712
    return sorted(row.plugin for row in rows)


def _require_installed(plugin: str) -> None:
    if plugin not in get_host().names():
        raise NotFound(f"No plugin {plugin!r} is installed; `boxoffice plugins list` shows them.",
                       type="unknown_plugin")


def set_plugin_enabled(org_id: str, plugin: str, enabled: bool) -> TenantPlugin:
    """Enable or disable a plugin for a tenant."""
    org = get_org(org_id)
    _require_installed(plugin)
    with write_transaction():
        existing = TenantPlugin.get_or_none((TenantPlugin.org == org) & (TenantPlugin.plugin == plugin))
        row = existing or _plugin_row(org, plugin, enabled)
        if existing is None:
            changed = enabled  # a new row made disabled changes nothing
        else:  # conditional: of two racing switches one changes the row (and is recorded)
            changed = TenantPlugin.update(enabled=enabled, updated_at=utcnow()).where(
                row.row_condition() & (TenantPlugin.enabled != enabled)).execute() == 1
        if changed:
            row.enabled = enabled
            audit.record(org, "plugin.enabled" if enabled else "plugin.disabled", "plugin", plugin,
                         before={"enabled": None if existing is None else not enabled}, after={"enabled": enabled})
        get_host().forget(org.id)  # announced with the commit: every process drops it at once
        forget_org(org.id)
    return row


def _plugin_row(org: Org, plugin: str, enabled: bool) -> TenantPlugin:
    """The tenant's row for `plugin`, created (with `enabled`) when missing; call inside a transaction."""
    row = TenantPlugin.get_or_none((TenantPlugin.org == org) & (TenantPlugin.plugin == plugin))
    return row or TenantPlugin.create(org=org, plugin=plugin, enabled=enabled, settings={})


def configure_plugin(org_id: str, plugin: str, values: dict[str, str | None]) -> dict:
    """Merge `values` into a tenant's settings for `plugin` (empty value removes a key); returns them masked.

    Configuring does not enable the plugin; `set_plugin_enabled` does.
    """
    org = get_org(org_id)
    _require_installed(plugin)
    bad = sorted(k for k in values if not SETTING_KEY_PATTERN.match(str(k)))
    if bad:
        raise Unprocessable(f"Invalid setting name(s): {', '.join(map(repr, bad))}; use letters, digits, "
                            "_ . -", type="invalid_setting")
    with write_transaction():
        row = _plugin_row(org, plugin, False)
        settings = dict(row.settings or {})
        for key, value in values.items():
            if value is None or value == "":
                settings.pop(key, None)
            else:
                settings[key] = value
        gateways.check_settings(plugin, settings)
        before, after = _settings_changes(plugin, row.settings or {}, settings)
        row.settings = settings
        row.save()
        if after:
            audit.record(org, "plugin.settings_changed", "plugin", plugin, before=before, after=after)
        get_host().forget(org.id)
    return mask_settings(settings, gateways.secret_settings(plugin))


def _settings_changes(plugin: str, old: dict, new: dict) -> tuple[dict, dict]:
    """The settings that changed, as (before, after) for the audit log: a secret one (as `mask_settings` tells
    them) shows only `[changed]`, never a value."""
    secret = gateways.secret_settings(plugin) | {key for key in [*old, *new]
                                                 if any(word in key.lower() for word in SECRET_SETTING_WORDS)}
    return audit.changes(old, new, secret)


def masked_plugin_settings(org_id: str, plugin: str) -> dict:
    """A tenant's settings for an installed plugin with secrets masked (404 for unknown org or plugin)."""
    org = get_org(org_id)
    _require_installed(plugin)
    return mask_settings(plugin_settings(org, plugin), gateways.secret_settings(plugin))


def mask_settings(settings: dict, secret: set[str] | frozenset[str] = frozenset()) -> dict:
    """Settings safe to show: values whose key is in `secret` (a provider's settings schema marks them) or looks
    secret are replaced by a mask."""
    masked = {}
    for key, value in settings.items():
        if key in secret or any(word in key.lower() for word in SECRET_SETTING_WORDS):
            text = str(value)
            masked[key] = "****" + text[-4:] if len(text) >= 16 else "****"
        else:
            masked[key] = value
    return masked


def plugin_overview() -> list[dict]:
    """Every installed plugin with its description and the tenants that enabled it."""
    host = get_host()
    rows = TenantPlugin.select().where(TenantPlugin.enabled == True)  # noqa: E712
    by_plugin: dict[str, list[str]] = {}
    for row in rows:
        by_plugin.setdefault(row.plugin, []).append(row.org_id)
    return [{"name": name, "description": host.describe(name), "tenants": sorted(by_plugin.get(name, []))}
            for name in host.names()]

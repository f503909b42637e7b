"""Tenant provisioning: create orgs (signing keypair, first admin key), switch plugins, set plugin settings.

Used by both the `boxoffice tenants` CLI and the `/operator` API; returns plain records, never Flask objects.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from core.auth import hash_api_key, new_api_key
from core.db import write_transaction
from core.errors import ApiError, NotFound, Unprocessable
from core.models import ApiKey, Org, TenantPlugin
from core.plugins import get_host
from core.signing import generate_keypair
from core.tenancy import forget_org

SECRET_SETTING_WORDS = ("secret", "password", "private", "token")


@dataclass
class CreatedTenant:
    """A new tenant and its first admin API key (the only time the key is visible)."""

    org: Org
    admin_api_key: str


def _slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug[:40] or "org"


def new_org_id(name: str) -> str:
    """A readable, unguessable org id: the name's slug plus a random suffix."""
    return f"{_slugify(name)}-{secrets.token_hex(4)}"


def create_api_key(org: Org, name: str, role: str = "staff") -> str:
    """Create a staff/admin API key for `org`; returns the key itself (shown once)."""
    if role not in ("staff", "admin"):
        raise Unprocessable("role must be staff or admin", type="invalid_role")
    key = new_api_key()
    ApiKey.create(org=org, name=name, role=role, prefix=key[:10], key_hash=hash_api_key(key))
    return key


def create_tenant(name: str, *, org_id: str | None = None, plugins: tuple[str, ...] | None = None,
                  timezone: str = "UTC", default_plugins: tuple[str, ...] = ("free", "offline")) -> CreatedTenant:
    """Provision a tenant: org row, Ed25519 signing keypair, default plugins, first admin API key."""
    name = (name or "").strip()
    if not name:
        raise Unprocessable("A tenant needs a name.", type="invalid_name")
    org_id = org_id or new_org_id(name)
    if Org.get_or_none(Org.id == org_id) is not None:
        raise ApiError(f"Tenant {org_id!r} already exists.", status=409, type="tenant_exists")
    private, public = generate_keypair()
    installed = set(get_host().names())
    with write_transaction():
        org = Org.create(id=org_id, name=name, timezone=timezone, signing_private_key=private,
                         signing_public_key=public)
        for plugin in plugins if plugins is not None else default_plugins:
            if plugin in installed:
                TenantPlugin.create(org=org, plugin=plugin, enabled=True)
        key = create_api_key(org, "first admin key", "admin")
    return CreatedTenant(org=org, admin_api_key=key)


def get_tenant(org_id: str) -> Org:
    """The tenant with this id, or 404 `unknown_org`."""
    org = Org.get_or_none(Org.id == org_id)
    if org is None:
        raise NotFound(f"No tenant {org_id!r}; `boxoffice tenants list` shows them.", type="unknown_org")
    return org


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
    org = get_tenant(org_id)
    _require_installed(plugin)
    with write_transaction():
        row, _ = TenantPlugin.get_or_create(org=org, plugin=plugin, defaults={"enabled": enabled})
        if row.enabled != enabled:
            row.enabled = enabled
            row.save()
    get_host().forget(org.id)
    forget_org(org.id)
    return row


def configure_plugin(org_id: str, plugin: str, values: dict[str, str]) -> dict:
    """Merge `values` into a tenant's settings for `plugin`; returns the settings with secrets masked."""
    org = get_tenant(org_id)
    _require_installed(plugin)
    with write_transaction():
        row, _ = TenantPlugin.get_or_create(org=org, plugin=plugin, defaults={"enabled": False})
        settings = dict(row.settings or {})
        for key, value in values.items():
            if value is None or value == "":
                settings.pop(key, None)
            else:
                settings[key] = value
        row.settings = settings
        row.save()
    get_host().forget(org.id)
    return mask_settings(settings)


def plugin_settings(org: Org | str, plugin: str) -> dict:
    """A tenant's raw settings for one plugin (server side only; never send to clients)."""
    org_id = org if isinstance(org, str) else org.id
    row = TenantPlugin.get_or_none((TenantPlugin.org == org_id) & (TenantPlugin.plugin == plugin))
    return dict(row.settings or {}) if row else {}


def mask_settings(settings: dict) -> dict:
    """Settings safe to show: values whose key looks secret are replaced by a mask."""
    masked = {}
    for key, value in settings.items():
        if any(word in key.lower() for word in SECRET_SETTING_WORDS):
            masked[key] = "****" + str(value)[-4:] if len(str(value)) > 8 else "****"
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

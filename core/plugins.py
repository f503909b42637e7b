"""The plugin host: one pluggy PluginManager with built-in and third-party plugins from entry points.

`hooks_for(org)` gives a tenant's hook relay that skips every plugin the tenant has not enabled, and
`plugin_settings(org, name)` a tenant's settings for one plugin. Never imports the HTTP layer.
"""

from __future__ import annotations

import functools
import logging
from importlib.metadata import entry_points

import pluggy

from core import hookspecs, invalidation, outbox
from core.db import is_sqlite
from core.memo import TimedMemo
from core.models import TenantPlugin
from core.services.statements import CompiledQuery, Slot, compile_query

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "boxoffice.plugins"
_ENABLED_CACHE_SECONDS = 5.0


class PluginHost:
    """Owns the PluginManager and answers which plugins a tenant has enabled."""

    def __init__(self, allowed: tuple[str, ...] | None = None):
        self.pm = pluggy.PluginManager("boxoffice")
        self.pm.add_hookspecs(hookspecs)
        self.allowed = set(allowed) if allowed else None
        self._subset_cache: dict[tuple[str, frozenset], object] = {}
        self._enabled = TimedMemo(_ENABLED_CACHE_SECONDS)  # org id -> enabled plugin names

    def load_entry_points(self) -> None:
        """Register every plugin in the `boxoffice.plugins` entry-point group (limited by BOXOFFICE_PLUGINS)."""
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            if self.allowed is not None and ep.name not in self.allowed:
                continue
            if self.pm.has_plugin(ep.name):
                continue
            try:
                plugin = ep.load()
            except Exception as exc:
                raise RuntimeError(f"Plugin {ep.name!r} ({ep.value}) failed to load: {exc}. Uninstall it, "
                                   "or leave it out of BOXOFFICE_PLUGINS.") from exc
            self.register(plugin, name=ep.name)

    def register(self, plugin, name: str) -> None:
        """Register a plugin object directly (tests, embedding)."""
        self.pm.register(plugin, name=name)
        self._subset_cache.clear()  # cached callers are keyed by enabled names and must now leave it out

    def names(self) -> list[str]:
        """Names of all installed plugins."""
        return sorted(name for name, _ in self.pm.list_name_plugin())

    def describe(self, name: str) -> str:
        """First line of a plugin's docstring."""
        plugin = self.pm.get_plugin(name)
        doc = (getattr(plugin, "__doc__", None) or "").strip()
        return doc.splitlines()[0] if doc else ""

    def enabled_for(self, org_id: str) -> frozenset[str]:
        """The plugin names a tenant has enabled (cached a few seconds per process)."""
        from core.models import TenantPlugin

        def load() -> frozenset[str]:
            rows = TenantPlugin.select(TenantPlugin.plugin).where(
                (TenantPlugin.org == org_id) & (TenantPlugin.enabled == True)  # noqa: E712
            )
            return frozenset(row.plugin for row in rows) & frozenset(self.names())

        return self._enabled.get(org_id, load)

    def forget(self, org_id: str | None = None) -> None:
        """Drop cached enablement (after `tenants enable|disable`): here once the change commits, on every other
        process through the invalidation bus."""
        invalidation.announce("plugins", org_id)

    def forget_here(self, org_id: str | None = None) -> None:
        """Drop this process's cached enablement of a tenant (None: of every tenant)."""
        self._enabled.forget(org_id)

    def is_enabled(self, org_id: str, plugin: str) -> bool:
        """True if `plugin` is installed and enabled for the tenant."""
        return plugin in self.enabled_for(org_id)

    def hooks_for(self, org_id: str) -> TenantHooks:
        """The tenant's hook relay: only plugins it enabled run."""
        return TenantHooks(self, self.enabled_for(org_id), org_id)

    def subset_caller(self, hook_name: str, enabled: frozenset[str]):
        """A cached `subset_hook_caller` for one hook, without the plugins not in `enabled`."""
        key = (hook_name, enabled)
        caller = self._subset_cache.get(key)
        if caller is None:
            remove = [self.pm.get_plugin(n) for n in self.names() if n not in enabled]
            caller = self.pm.subset_hook_caller(hook_name, remove_plugins=remove)
            self._subset_cache[key] = caller
        return caller


class TenantHooks:
    """Attribute access to hooks, filtered to one tenant's enabled plugins."""

    def __init__(self, host: PluginHost, enabled: frozenset[str], org_id: str | None = None):
        self._host = host
        self.enabled = enabled
        self.org_id = org_id

    def __getattr__(self, hook_name: str):
        if not hook_name.startswith("_") and hasattr(self._host.pm.hook, hook_name):
            return self._host.subset_caller(hook_name, self.enabled)
        raise AttributeError(hook_name)

    def consumes(self, hook_name: str) -> bool:
        """True when one of the tenant's enabled plugins implements `hook_name`."""
        return bool(getattr(self, hook_name).get_hookimpls())

    def notify(self, hook_name: str, **kwargs) -> None:
        """Record a lifecycle hook in the outbox, one entry per plugin that implements it, in the current write
        transaction (its own, outside one); each runs once it has committed (`core.outbox`).

        Each plugin runs on its own, in a transaction that marks its entry done: one that raises has its writes
        rolled back and is retried later, and neither stops the others nor undoes the committed change.
        """
        impls = getattr(self, hook_name).get_hookimpls()
        if impls:
            outbox.record_hooks(self.org_id, hook_name, [impl.plugin_name for impl in reversed(impls)], kwargs)

    def within(self, hook_name: str, **kwargs) -> None:
        """Call a hook now, inside the caller's write transaction, each plugin in its own savepoint: one that
        raises has its changes rolled back and is logged, and stops neither the others nor the caller."""
        from core.db import db

        for impl in reversed(getattr(self, hook_name).get_hookimpls()):
            try:
                with db.atomic():
                    impl.function(**{name: kwargs[name] for name in impl.argnames})
            except Exception:  # noqa: BLE001 - a plugin must not block the core's own change
                log.exception("plugin %s failed in hook %s", impl.plugin_name, hook_name)


_host: PluginHost | None = None


def run_hook_entry(entry, arguments: dict) -> None:
    """Run one outbox hook entry: the named plugin's implementation of the hook, if it is still installed."""
    for impl in getattr(get_host().pm.hook, entry.name).get_hookimpls():
        if impl.plugin_name == entry.plugin:
            impl.function(**{name: arguments[name] for name in impl.argnames})
            return
    log.warning("outbox: plugin %s no longer implements %s; entry %s skipped", entry.plugin, entry.name, entry.id)


outbox.register_runner("hook", run_hook_entry)
invalidation.on_change("plugins", lambda org_id: _host.forget_here(org_id) if _host is not None else None)


def init_host(allowed: tuple[str, ...] | None = None, extra: list | None = None) -> PluginHost:
    """Create the process's plugin host and load entry points (called by `create_app` and the CLI)."""
    global _host
    host = PluginHost(allowed)
    for name, plugin in extra or []:
        host.register(plugin, name)
    host.load_entry_points()
    _host = host
    return host


def get_host() -> PluginHost:
    """The process's plugin host (raises if the app was not created)."""
    if _host is None:
        raise RuntimeError("The plugin host is not initialised; call core.app.create_app() first.")
    return _host


def hooks_for(org) -> TenantHooks:
    """The tenant's hook relay (accepts an Org or its id)."""
    return get_host().hooks_for(org if isinstance(org, str) else org.id)


@functools.lru_cache(maxsize=2)
def _settings_sql(sqlite: bool) -> CompiledQuery:
    return compile_query(TenantPlugin.select(TenantPlugin.settings)
                         .where((TenantPlugin.org == Slot("org")) & (TenantPlugin.plugin == Slot("plugin"))))


def plugin_settings(org, plugin: str) -> dict:
    """A tenant's raw settings for one plugin (accepts an Org or its id); server side only, never sent to
    clients. The operator sets them (`boxoffice tenants config`, `/operator/.../settings`). Read on every
    payment step, so its SELECT is compiled once."""
    org_id = org if isinstance(org, str) else org.id
    rows = _settings_sql(is_sqlite()).rows(TenantPlugin, (TenantPlugin.settings,), org=org_id, plugin=plugin)
    return dict(rows[0].settings or {}) if rows else {}

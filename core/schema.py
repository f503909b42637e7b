"""Collects every migration to apply: the core's, then each plugin's (its models, then its own changes).

Used by `create_app` (first run) and `boxoffice db upgrade`.
"""

from __future__ import annotations

from core.migrations import Migration, core_migrations, create_tables_migration, upgrade
from core.plugins import PluginHost


def plugin_migrations(host: PluginHost) -> list[Migration]:
    """Version 1 of each plugin creates its `register_models` tables; `register_migrations` adds more."""
    found: list[Migration] = []
    for impl in host.pm.hook.register_models.get_hookimpls():
        models = impl.function() or []
        if models:
            found.append(create_tables_migration(impl.plugin_name, 1, "initial_tables", list(models)))
    for impl in host.pm.hook.register_migrations.get_hookimpls():
        found.extend(impl.function() or [])
    return found


def all_migrations(host: PluginHost) -> list[Migration]:
    """Core migrations followed by plugin migrations."""
    return core_migrations() + plugin_migrations(host)


def upgrade_schema(host: PluginHost, progress=None) -> list[Migration]:
    """Apply everything pending; returns the migrations applied now."""
    return upgrade(all_migrations(host), progress=progress)

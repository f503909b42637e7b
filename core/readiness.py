"""Readiness: may this process take traffic now? The database answers a `SELECT 1`, Redis a PING (when the
deployment uses it), and every migration of the core and of the loaded plugins is recorded as applied.

Reads only (never creates the migration table or applies anything) and never puts a driver's error text, which
can name hosts and users, in its answer: the detail goes to the log.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import redis

from core.config import Config
from core.db import db
from core.migrations import not_applied, recorded_versions
from core.plugins import PluginHost
from core.schema import all_migrations

log = logging.getLogger(__name__)
REDIS_TIMEOUT_SECONDS = 2
_redis_clients: dict[str, redis.Redis] = {}


@dataclass
class Check:
    """One check's outcome: `ok`, and when not, a short `error`; `pending` names migrations not applied."""

    ok: bool
    error: str | None = None
    pending: list[str] = field(default_factory=list)


def _failed(name: str, error: Exception) -> Check:
    log.warning("readiness: %s check failed: %s", name, error)
    return Check(False, f"{name} unavailable ({type(error).__name__})")


def check_database() -> Check:
    """The database runs `SELECT 1`."""
    try:
        db.execute_sql("SELECT 1")
    except Exception as error:  # noqa: BLE001 - any failure means not ready
        return _failed("database", error)
    return Check(True)


def check_redis(url: str) -> Check:
    """Redis at `url` answers PING within `REDIS_TIMEOUT_SECONDS`."""
    client = _redis_clients.get(url)
    if client is None:
        client = _redis_clients[url] = redis.Redis.from_url(
            url, socket_connect_timeout=REDIS_TIMEOUT_SECONDS, socket_timeout=REDIS_TIMEOUT_SECONDS)
    try:
        client.ping()
    except Exception as error:  # noqa: BLE001 - any failure means not ready
        return _failed("redis", error)
    return Check(True)


def check_migrations(host: PluginHost) -> Check:
    """Every migration of the core and of the loaded plugins is recorded in `schema_migrations`."""
    try:
        missing = not_applied(all_migrations(host), recorded_versions())
    except Exception as error:  # noqa: BLE001 - any failure means not ready
        return _failed("migrations", error)
    if not missing:
        return Check(True)
    return Check(False, "migrations not applied (run `boxoffice db upgrade`)",
                 [f"{m.component} {m.version:04d} {m.name}" for m in missing])


def readiness(config: Config, host: PluginHost) -> dict[str, Check]:
    """Every check, by name (`redis` only when BOXOFFICE_REDIS_URL is set); the migrations are not read when
    the database did not answer."""
    checks = {"database": check_database()}
    if config.redis_url:
        checks["redis"] = check_redis(config.redis_url)
    checks["migrations"] = (check_migrations(host) if checks["database"].ok
                            else Check(False, "not checked: the database is unavailable"))
    return checks

"""Configuration read from BOXOFFICE_* environment variables.

Holds values only; it never opens connections or writes files (see `core.keys` for generated secrets).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path


def _env_bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass
class Config:
    """Everything the app needs to start; each field maps to one BOXOFFICE_* variable."""

    data_dir: str = "instance"
    database_url: str = ""
    secret_key: str = ""
    redis_url: str = ""
    queue_name: str = "boxoffice"
    operator_token: str = ""
    jobs_immediate: bool = False
    jwt_ttl_seconds: int = 60 * 60 * 12
    hold_minutes: int = 10
    default_plugins: tuple[str, ...] | None = None   # None: the provisioning default (tenants.DEFAULT_PLUGINS)
    enabled_plugin_names: tuple[str, ...] | None = None
    public_url: str = "http://127.0.0.1:8000"
    smtp_url: str = ""
    webhooks_allow_private: bool = False
    pg_prepare: bool = True
    db_connect_timeout: int = 5  # seconds to open a PostgreSQL connection before the database counts as down
    trusted_proxies: int = 0
    throttle_per_address: str = "30/minute"  # failed attempts per client address (Flask-Limiter syntax)
    throttle_per_account: str = "10/minute"  # failed attempts per account (e-mail, key prefix, guest...)
    max_body_bytes: int = 1024 * 1024  # request bodies above this answer 413 (media uploads set their own)
    outbox_redispatch_seconds: int = 60  # an outbox entry not done this long after it fell due is sent again
    outbox_lease_seconds: int = 600  # a job entry a worker took and did not finish is free again after this
    outbox_sweep_seconds: int = 10  # how often each worker process sweeps the outbox for such entries
    idempotency_takeover_seconds: int = 120  # a key left running this long (crashed worker) may be taken over
    test_clock_file: str = ""  # tests only: a file holding the seconds the clock is moved by (core/clock.py)
    sql_record: str = ""  # a file: every SQL statement the app runs is noted there (core/statement_log.py)
    invalidation_channel: str = "auto"  # how processes tell each other a cached row changed (core.invalidation)
    metrics_address: str = ""  # host:port where /metrics answers without a token (elsewhere 404); "": token
    log_format: str = "text"  # "json": one JSON object per log line, and one line per request
    extra: dict = field(default_factory=dict)

    ENV = {
        "data_dir": "BOXOFFICE_DATA_DIR",
        "database_url": "BOXOFFICE_DATABASE_URL",
        "secret_key": "BOXOFFICE_SECRET_KEY",
        "redis_url": "BOXOFFICE_REDIS_URL",
        "queue_name": "BOXOFFICE_QUEUE_NAME",
        "operator_token": "BOXOFFICE_OPERATOR_TOKEN",
        "jobs_immediate": "BOXOFFICE_JOBS_IMMEDIATE",
        "jwt_ttl_seconds": "BOXOFFICE_JWT_TTL_SECONDS",
        "hold_minutes": "BOXOFFICE_HOLD_MINUTES",
        "default_plugins": "BOXOFFICE_DEFAULT_PLUGINS",
        "enabled_plugin_names": "BOXOFFICE_PLUGINS",
        "public_url": "BOXOFFICE_PUBLIC_URL",
        "smtp_url": "BOXOFFICE_SMTP_URL",
        "webhooks_allow_private": "BOXOFFICE_WEBHOOKS_ALLOW_PRIVATE",
        "pg_prepare": "BOXOFFICE_PG_PREPARE",
        "db_connect_timeout": "BOXOFFICE_DB_CONNECT_TIMEOUT",
        "trusted_proxies": "BOXOFFICE_TRUSTED_PROXIES",
        "throttle_per_address": "BOXOFFICE_THROTTLE_PER_ADDRESS",
        "throttle_per_account": "BOXOFFICE_THROTTLE_PER_ACCOUNT",
        "max_body_bytes": "BOXOFFICE_MAX_BODY_BYTES",
        "outbox_redispatch_seconds": "BOXOFFICE_OUTBOX_REDISPATCH_SECONDS",
        "outbox_lease_seconds": "BOXOFFICE_OUTBOX_LEASE_SECONDS",
        "outbox_sweep_seconds": "BOXOFFICE_OUTBOX_SWEEP_SECONDS",
        "idempotency_takeover_seconds": "BOXOFFICE_IDEMPOTENCY_TAKEOVER_SECONDS",
        "test_clock_file": "BOXOFFICE_TEST_CLOCK_FILE",
        "sql_record": "BOXOFFICE_SQL_RECORD",
        "invalidation_channel": "BOXOFFICE_INVALIDATION_CHANNEL",
        "metrics_address": "BOXOFFICE_METRICS_ADDRESS",
        "log_format": "BOXOFFICE_LOG_FORMAT",
    }
    LOG_FORMATS = ("text", "json")

    @classmethod
    def from_env(cls, environ: dict | None = None, **overrides) -> Config:
        """Build a Config from environment variables, then apply keyword overrides."""
        environ = os.environ if environ is None else environ
        values: dict = {}
        for f in fields(cls):
            var = cls.ENV.get(f.name)
            if not var or var not in environ:
                continue
            raw = environ[var]
            if f.name in {"jobs_immediate", "webhooks_allow_private", "pg_prepare"}:
                values[f.name] = _env_bool(raw, f.default)
            elif f.name in {"jwt_ttl_seconds", "hold_minutes", "trusted_proxies", "db_connect_timeout",
                            "max_body_bytes", "outbox_redispatch_seconds", "outbox_lease_seconds",
                            "outbox_sweep_seconds", "idempotency_takeover_seconds"}:
                values[f.name] = int(raw)
            elif f.name in {"default_plugins", "enabled_plugin_names"}:
                values[f.name] = tuple(p.strip() for p in raw.split(",") if p.strip())
            else:
                values[f.name] = raw
        values.update(overrides)
        config = cls(**values)
        config.check()
        return config

    def check(self) -> None:
        """Refuse values that would only fail later: an unknown log format, a metrics address that is not
        `host:port`."""
        if self.log_format not in self.LOG_FORMATS:
            raise ValueError(f"BOXOFFICE_LOG_FORMAT must be one of {', '.join(self.LOG_FORMATS)}, "
                             f"not {self.log_format!r}")
        if self.metrics_address:
            self.metrics_listen  # noqa: B018 - parses, raising ValueError when malformed

    @property
    def metrics_listen(self) -> tuple[str, int] | None:
        """BOXOFFICE_METRICS_ADDRESS as (host, port), or None when /metrics is guarded by the operator token."""
        if not self.metrics_address:
            return None
        host, colon, port = self.metrics_address.rpartition(":")
        if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"BOXOFFICE_METRICS_ADDRESS must be host:port, not {self.metrics_address!r}")
        return host.strip("[]"), int(port)

    @property
    def data_path(self) -> Path:
        """The folder for the embedded database, job queue and generated secrets."""
        return Path(self.data_dir).resolve()

    @property
    def effective_database_url(self) -> str:
        """The database URL, defaulting to an SQLite file in the data folder."""
        return self.database_url or f"sqlite:///{self.data_path / 'boxoffice.db'}"

    @property
    def is_sqlite(self) -> bool:
        """True when the database is the embedded SQLite default (or any SQLite URL)."""
        return self.effective_database_url.startswith("sqlite")


_current: Config | None = None


def use_config(config: Config) -> None:
    """Make `config` the deployment's current configuration (called by `create_app`)."""
    global _current
    _current = config


def current_config() -> Config:
    """The configuration the app was created with (read from the environment before that)."""
    return _current or Config.from_env()

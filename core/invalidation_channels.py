"""The invalidation bus's channels: PostgreSQL LISTEN/NOTIFY and Redis pub/sub, each able to publish a message
and to listen on one connection until it fails or is told to stop.

Knows nothing of caches (`core.invalidation` does) and never retries: the listener thread reconnects.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

from core.db import after_commit, db

log = logging.getLogger(__name__)

CHANNELS = ("auto", "postgres", "redis", "local")  # the values of BOXOFFICE_INVALIDATION_CHANNEL
PG_CHANNEL = "boxoffice_invalidation"  # the NOTIFY channel (NOTIFY is per database, so deployments never meet)
PG_APPLICATION_NAME = "boxoffice-invalidation"  # the listening connection's name in pg_stat_activity
WAIT_SECONDS = 1.0  # how long one wait for a message lasts before the stop flag is looked at again
HEALTH_SECONDS = 5.0  # an idle PostgreSQL listener checks its connection this often (a dead link is found)


class Channel(Protocol):
    """A way to tell every process of the deployment about a change."""

    name: str

    def describe(self) -> str:
        """What the channel is, for log lines (no secrets)."""

    def publish(self, message: str) -> None:
        """Send `message` to every listening process (after the current transaction commits)."""

    def listen(self, deliver: Callable[[str], None], connected: Callable[[], None],
               stop: threading.Event) -> None:
        """Connect, call `connected()` once listening, then `deliver(message)` for each message until `stop` is
        set (return) or the connection fails (raise)."""


class PostgresChannel:
    """NOTIFY on the request's own connection, inside its transaction when one is open (PostgreSQL delivers it
    at the commit and drops it on a rollback), and LISTEN on one connection of the listener's own."""

    name = "postgres"

    def __init__(self, url: str, connect_timeout: int):
        self.url = url
        self.connect_timeout = connect_timeout

    def describe(self) -> str:
        """The channel, for log lines."""
        return f"PostgreSQL LISTEN {PG_CHANNEL}"

    def publish(self, message: str) -> None:
        """NOTIFY `message`: with the open transaction, or at once after a commit. Outside a transaction a
        failure is logged (the change itself committed); inside one it fails the transaction like any statement."""
        if db.in_transaction():
            db.execute_sql("SELECT pg_notify(%s, %s)", (PG_CHANNEL, message))
            return
        try:
            db.execute_sql("SELECT pg_notify(%s, %s)", (PG_CHANNEL, message))
        except Exception as error:  # noqa: BLE001 - the change committed; other processes fall back to the TTL
            log.warning("invalidation: NOTIFY %r failed, other processes see it when their cache expires: %s",
                        message, error)

    def listen(self, deliver: Callable[[str], None], connected: Callable[[], None],
               stop: threading.Event) -> None:
        """LISTEN on a new autocommit connection (TCP keepalives on, checked every HEALTH_SECONDS when idle)."""
        import psycopg

        with psycopg.connect(self.url, autocommit=True, connect_timeout=self.connect_timeout,
                             application_name=PG_APPLICATION_NAME, keepalives=1, keepalives_idle=5,
                             keepalives_interval=2, keepalives_count=2) as conn:
            conn.execute(f'LISTEN "{PG_CHANNEL}"')
            connected()
            checked = time.monotonic()
            while not stop.is_set():
                for note in conn.notifies(timeout=WAIT_SECONDS):
                    deliver(note.payload)
                    checked = time.monotonic()
                if time.monotonic() - checked >= HEALTH_SECONDS:
                    conn.execute("SELECT 1")
                    checked = time.monotonic()


class RedisChannel:
    """PUBLISH after the commit on a shared client; SUBSCRIBE on a connection of the listener's own."""

    name = "redis"

    def __init__(self, url: str, key: str):
        self.url = url
        self.key = key
        self._client = None

    def describe(self) -> str:
        """The channel, for log lines (the URL is left out: it may hold a password)."""
        return f"Redis channel {self.key}"

    def _publisher(self):
        if self._client is None:
            import redis
            from redis.backoff import NoBackoff
            from redis.retry import Retry

            # one retry (a pooled connection Redis dropped by restarting), no backoff: while Redis is down a
            # change's request waits at most two connect timeouts for its PUBLISH
            self._client = redis.Redis.from_url(self.url, socket_connect_timeout=1, socket_timeout=1,
                                                retry=Retry(NoBackoff(), 1))
        return self._client

    def publish(self, message: str) -> None:
        """PUBLISH `message` once the current transaction commits; a Redis that is down is logged."""
        after_commit(lambda: self._send(message))

    def _send(self, message: str) -> None:
        try:
            self._publisher().publish(self.key, message)
        except Exception as error:  # noqa: BLE001 - the change committed; other processes fall back to the TTL
            log.warning("invalidation: PUBLISH %r failed, other processes see it when their cache expires: %s",
                        message, error)

    def listen(self, deliver: Callable[[str], None], connected: Callable[[], None],
               stop: threading.Event) -> None:
        """SUBSCRIBE and read messages; every subscription confirmation (redis-py re-subscribes by itself after
        a reconnect) counts as a new connection, since messages sent meanwhile were lost."""
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        client = redis.Redis.from_url(self.url, socket_connect_timeout=2, health_check_interval=HEALTH_SECONDS,
                                      retry=Retry(NoBackoff(), 0))  # a failure reaches the listener, which logs it
        pubsub = client.pubsub()
        try:
            pubsub.subscribe(self.key)
            while not stop.is_set():
                message = pubsub.get_message(timeout=WAIT_SECONDS)
                if message is None:
                    continue
                if message["type"] == "subscribe":
                    connected()
                elif message["type"] == "message":
                    deliver(message["data"].decode())
        finally:
            pubsub.close()
            client.close()


def channel_for(config) -> Channel | None:
    """The channel `config.invalidation_channel` names: `auto` is PostgreSQL's on a PostgreSQL database, else
    Redis when `BOXOFFICE_REDIS_URL` is set, else none (`local`). ValueError for a channel that cannot work."""
    choice = (config.invalidation_channel or "auto").strip().lower()
    on_postgres = config.effective_database_url.startswith(("postgres://", "postgresql://"))
    if choice not in CHANNELS:
        raise ValueError(f"BOXOFFICE_INVALIDATION_CHANNEL is one of {', '.join(CHANNELS)}, not {choice!r}")
    if choice == "auto":
        choice = "postgres" if on_postgres else "redis" if config.redis_url else "local"
    if choice == "postgres":
        if not on_postgres:
            raise ValueError("BOXOFFICE_INVALIDATION_CHANNEL=postgres needs a PostgreSQL BOXOFFICE_DATABASE_URL")
        return PostgresChannel(config.effective_database_url, config.db_connect_timeout)
    if choice == "redis":
        if not config.redis_url:
            raise ValueError("BOXOFFICE_INVALIDATION_CHANNEL=redis needs BOXOFFICE_REDIS_URL")
        return RedisChannel(config.redis_url, f"{config.queue_name}:invalidation")
    return None

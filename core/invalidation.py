"""The invalidation bus: what every process caches for a few seconds (tenants, enabled plugins, API keys, customer
sessions, tenant hostnames...) is forgotten in this process once the change commits and on every other process
of every node a moment later, through the channel the deployment has (PostgreSQL LISTEN/NOTIFY or Redis pub/sub).

Owns no cache and reads no table: each cache's owner registers its local forget function under a kind
(`on_change`) and calls `announce` where the row changes. Never fails a committed change because the channel is
down (the caches' own time bound is then the fallback) and adds nothing to a request that changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from core.db import after_commit
from core.invalidation_channels import CHANNELS, Channel, channel_for
from core.invalidation_listener import Listener, current, stop_all

log = logging.getLogger(__name__)

ALL = "*"  # a message kind meaning "forget every cache" (sent by no one; used after the channel was down)

_forgetters: dict[str, Callable[[str | None], None]] = {}
_channel: Channel | None = None


def on_change(kind: str, forget: Callable[[str | None], None]) -> None:
    """Register this process's forget function for `kind` (called with a key, or None for every key). Called
    once per kind at import by the module that owns the cache."""
    _forgetters[kind] = forget


def on_tenant_change(kind: str, memo) -> None:
    """Register the forget function of a cache keyed by (org id, record id) pairs (`memo.forget(key)`, or every
    key for None): a message for `kind` carries `tenant_key(org_id, record_id)`."""
    def forget(key: str | None) -> None:
        if key is None:
            memo.forget()
        else:
            org_id, _, record_id = key.partition(":")
            memo.forget((org_id, record_id))

    on_change(kind, forget)


def tenant_key(org_id: str, record_id: str) -> str:
    """The message key of one tenant's record for a cache registered with `on_tenant_change`."""
    return f"{org_id}:{record_id}"


def kinds() -> list[str]:
    """The registered kinds, sorted."""
    return sorted(_forgetters)


def announce(kind: str, key: str | None = None) -> None:
    """`kind`'s cached value for `key` (None: all of them) changed: forget it here once the current write
    transaction commits (now outside one) and tell every other process. On PostgreSQL the message goes with the
    transaction (NOTIFY: delivered at its commit, dropped by a rollback); on Redis it is published after the
    commit. A publish after the commit that fails is logged, never raised (the change stands; other processes
    fall back to their caches' time bound); a NOTIFY inside the transaction fails with it, like any statement."""
    if kind not in _forgetters:
        raise KeyError(f"no cache registered for kind {kind!r}")
    after_commit(lambda: forget_here(kind, key))
    if _channel is not None:
        _channel.publish(encode(kind, key))


def forget_here(kind: str, key: str | None = None) -> None:
    """Forget `kind`'s cached value for `key` (None: all) in this process only; `ALL` forgets every cache."""
    if kind == ALL:
        for forget in list(_forgetters.values()):
            forget(None)
        return
    forget = _forgetters.get(kind)
    if forget is None:
        log.warning("invalidation: a message for an unknown cache %r was ignored", kind)
        return
    forget(key)


def encode(kind: str, key: str | None) -> str:
    """The message text of a change: `kind:key` (`kind:` for every key)."""
    return f"{kind}:{key or ''}"


def receive(message: str) -> None:
    """Act on a message from the channel (the listener calls it)."""
    kind, _, key = message.partition(":")
    forget_here(kind, key or None)


def start(config, listen: bool = True) -> str:
    """Choose this process's channel from `config` (`BOXOFFICE_INVALIDATION_CHANNEL`) and, with `listen`, start
    its listener thread, replacing any earlier one (a one-shot command announces but need not listen); returns the
    channel's name (`local`: other processes see a change when their cached value expires)."""
    global _channel
    stop()
    _channel = channel_for(config)
    if _channel is None:
        return "local"
    if listen:
        Listener(_channel, receive, lambda: forget_here(ALL)).start()
    return _channel.name


def stop() -> None:
    """Stop this process's listener (if any) and stop announcing; changes are then forgotten here only."""
    global _channel
    stop_all()
    _channel = None


def listener() -> Listener | None:
    """This process's listener (None with the `local` channel), for health checks and tests."""
    return current()


def channel_name() -> str:
    """The channel this process announces on: `postgres`, `redis` or `local`."""
    return _channel.name if _channel is not None else "local"


__all__ = ["ALL", "CHANNELS", "announce", "channel_name", "encode", "forget_here", "kinds", "listener", "on_change",
           "on_tenant_change", "receive", "start", "stop", "tenant_key"]

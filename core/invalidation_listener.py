"""The invalidation bus's listener: one daemon thread per process that listens on the channel, hands each message
on, reconnects when the channel fails (logging when it went down and when it came back) and starts again in a
forked child (gunicorn workers of an app built before the fork).

Never touches a request and never closes a connection a forked child inherited (its parent still uses it).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable

log = logging.getLogger("core.invalidation")

RETRY_SECONDS = 1.0  # wait between reconnection attempts while the channel is down

_live: list[Listener] = []  # listeners started in this process (a forked child restarts the ones it inherited)
_inherited: list[object] = []  # a forked child's copies of its parent's listeners: kept, never closed
_fork_hook_installed = False


class Listener:
    """Listens on `channel` in a daemon thread: `deliver(message)` per message, `connected()` each time it
    (re)connects (the caller forgets everything then: messages sent while it was away are lost)."""

    def __init__(self, channel, deliver: Callable[[str], None], connected: Callable[[], None]):
        self.channel = channel
        self.deliver = deliver
        self.on_connect = connected
        self.connections = 0  # successful (re)connections so far
        self.failures = 0  # connection failures so far
        self.down_since: float | None = None  # monotonic time the channel went down, None while up
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def listening(self) -> bool:
        """True while connected and listening."""
        return self.connections > 0 and self.down_since is None

    def start(self) -> Listener:
        """Start the thread (and make a forked child start its own)."""
        _install_fork_hook()
        self._thread = threading.Thread(target=self._run, name="invalidation-listener", daemon=True)
        self._thread.start()
        _live.append(self)
        return self

    def stop(self) -> None:
        """Ask the thread to end (within a second); does not wait for it."""
        self._stop.set()
        if self in _live:
            _live.remove(self)

    def _connected(self) -> None:
        self.on_connect()
        if self.down_since is not None:
            log.warning("invalidation: %s is back after %.1f s; every cache was emptied (changes made meanwhile "
                        "were not heard)", self.channel.describe(), time.monotonic() - self.down_since)
        else:
            log.info("invalidation: listening on %s", self.channel.describe())
        self.down_since = None
        self.connections += 1

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.channel.listen(self._deliver, self._connected, self._stop)
            except Exception as error:  # noqa: BLE001 - any failure of the channel: reconnect
                self.failures += 1
                if self.down_since is None:
                    self.down_since = time.monotonic()
                    log.warning("invalidation: %s is down (%s); other nodes' changes reach this process only when "
                                "its caches expire (5 s) until it reconnects", self.channel.describe(), error)
            self._stop.wait(RETRY_SECONDS)

    def _deliver(self, message: str) -> None:
        try:
            self.deliver(message)
        except Exception:  # noqa: BLE001 - one bad message must not stop the listener
            log.exception("invalidation: message %r could not be applied", message)


def current() -> Listener | None:
    """The listener running in this process (the newest), or None."""
    return _live[-1] if _live else None


def stop_all() -> None:
    """Stop every listener of this process."""
    for listener in list(_live):
        listener.stop()


def _restart_in_child() -> None:
    """After a fork: the parent's listener threads did not come along; keep their objects (closing their
    connections would close the parent's) and start a fresh listener for each."""
    inherited = list(_live)
    _live.clear()
    _inherited.extend(inherited)
    for old in inherited:
        Listener(old.channel, old.deliver, old.on_connect).start()


def _install_fork_hook() -> None:
    global _fork_hook_installed
    if not _fork_hook_installed and hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=_restart_in_child)
        _fork_hook_installed = True

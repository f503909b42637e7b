"""The production HTTP server: waitress, which reads every request whole (body included) on its event loop
before a worker thread runs the app, so slow or stalled clients cost a socket, never a worker.

Only starts a server around an app `create_app` built; it never configures the app itself.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass

from flask import Flask

DEFAULT_THREADS = 8
DEFAULT_CONNECTION_LIMIT = 1000
DEFAULT_MAX_REQUEST_BODY = 100 * 1024 * 1024  # above every app limit (JSON 1 MiB, photos 10 MB by default)


@dataclass
class ServeOptions:
    """How `boxoffice serve` listens: its command-line options, and `trusted_proxies` from the config."""

    host: str = "127.0.0.1"
    port: int = 8000
    threads: int = DEFAULT_THREADS
    connection_limit: int = DEFAULT_CONNECTION_LIMIT
    max_request_body: int = DEFAULT_MAX_REQUEST_BODY
    trusted_proxies: int = 0
    reuse_port: bool = False
    metrics_listen: tuple[str, int] | None = None  # BOXOFFICE_METRICS_ADDRESS: a second socket for /metrics


def waitress_settings(options: ServeOptions) -> dict:
    """The waitress adjustments for `options`.

    Bodies are buffered (to a temporary file past 512 kB) up to `max_request_body`; idle connections close
    after 60 s; poll() instead of select() so a thousand sockets fit. With trusted proxies waitress keeps the
    `X-Forwarded-*` headers for the app's ProxyFix (`core.api.http_headers`) to read, else it drops them.
    The listening addresses are `listening_sockets`'.
    """
    return {"threads": options.threads,
            "connection_limit": options.connection_limit, "max_request_body_size": options.max_request_body,
            "channel_timeout": 60, "asyncore_use_poll": True, "ident": "boxoffice",
            "clear_untrusted_proxy_headers": options.trusted_proxies == 0}


def listening_socket(host: str, port: int, reuse_port: bool = False) -> socket.socket:
    """A TCP socket bound to `host:port` (not yet listening). With `reuse_port` (Linux SO_REUSEPORT) several
    `boxoffice serve` processes bind the same port and the kernel spreads connections among them."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                         flags=socket.AI_PASSIVE)[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(address)
    return sock


def listening_sockets(options: ServeOptions) -> list[socket.socket]:
    """The API's socket, and with `metrics_listen` the metrics address's (the app answers `/metrics` there
    only, telling the two apart by the port the request arrived on)."""
    addresses = [(options.host, options.port)] + ([options.metrics_listen] if options.metrics_listen else [])
    return [listening_socket(host, port, options.reuse_port) for host, port in addresses]


def serve(app: Flask, options: ServeOptions) -> None:
    """Serve `app` with waitress until the process is stopped (SIGTERM/SIGINT)."""
    import waitress

    waitress.serve(app, sockets=listening_sockets(options), **waitress_settings(options))

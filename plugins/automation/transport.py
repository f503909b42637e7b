"""One webhook POST to a checked `Destination`: the socket goes to an address `urls.check_url` allowed.

Never resolves the host again and never follows a redirect; https verifies the certificate against the host
name (SNI too) although the connection is made to the checked IP address.
"""

from __future__ import annotations

import http.client
import ssl
from socket import create_connection

from plugins.automation.urls import Destination

_TLS = ssl.create_default_context()  # system CAs, hostname checking on


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection whose Host header names `host` but whose socket goes to `address`."""

    def __init__(self, host: str, port: int, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def connect(self) -> None:
        self.sock = create_connection((self.address, self.port), self.timeout)


class _PinnedHTTPSConnection(_PinnedHTTPConnection):
    """The same over TLS: SNI and certificate checks use the host name, never the address."""

    default_port = http.client.HTTPS_PORT

    def __init__(self, host: str, port: int, address: str, timeout: float, context: ssl.SSLContext):
        super().__init__(host, port, address, timeout)
        self.context = context

    def connect(self) -> None:
        super().connect()
        self.sock = self.context.wrap_socket(self.sock, server_hostname=self.host)


def _connect(destination: Destination, timeout: float) -> http.client.HTTPConnection:
    """A connection to the first checked address that accepts one (nothing is sent yet, so trying the next
    address never repeats a delivery); OSError when none does."""
    failure: OSError | None = None
    for address in destination.addresses:
        if destination.scheme == "https":
            connection = _PinnedHTTPSConnection(destination.host, destination.port, address, timeout, _TLS)
        else:
            connection = _PinnedHTTPConnection(destination.host, destination.port, address, timeout)
        try:
            connection.connect()
            return connection
        except OSError as exc:
            connection.close()
            failure = exc
    raise failure or OSError("no address to connect to")


def post(destination: Destination, headers: dict[str, str], body: bytes, timeout: float) -> int:
    """POST `body` once and return the HTTP status (a 3xx is returned, not followed); OSError on no answer."""
    connection = _connect(destination, timeout)
    try:
        connection.request("POST", destination.target, body=body, headers=headers)
        response = connection.getresponse()
        response.read(1024)
        return response.status
    finally:
        connection.close()

"""Which webhook URLs we may call: http(s) only, and never loopback, private, link-local or reserved hosts.

Resolves the host and checks every address, at registration and again before each delivery (DNS can
change); the operator may allow private addresses with BOXOFFICE_WEBHOOKS_ALLOW_PRIVATE=1.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from core.errors import Unprocessable

MAX_URL_LENGTH = 2000


class UrlNotAllowed(Unprocessable):
    """422 `url_not_allowed`: not http(s), unresolvable, or pointing at an internal address."""

    type = "url_not_allowed"


def _forbidden(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved or ip.is_multicast
            or ip.is_unspecified)


def check_url(url: str, *, allow_private: bool = False) -> str:
    """Return `url` if we may POST to it; raise UrlNotAllowed (422 `url_not_allowed`) otherwise."""
    if not isinstance(url, str) or len(url) > MAX_URL_LENGTH:
        raise UrlNotAllowed(f"A webhook URL is at most {MAX_URL_LENGTH} characters.")
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise UrlNotAllowed("This is not a valid URL.") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UrlNotAllowed("Webhook URLs must be http:// or https:// URLs with a host name.")
    if parts.username or parts.password:
        raise UrlNotAllowed("Webhook URLs must not carry credentials; verify our signature instead.")
    if allow_private:
        return url.strip()
    try:
        infos = socket.getaddrinfo(parts.hostname, port or (443 if parts.scheme == "https" else 80),
                                   proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise UrlNotAllowed(f"The host {parts.hostname!r} does not resolve.") from exc
    if not infos or any(_forbidden(info[4][0]) for info in infos):
        raise UrlNotAllowed(f"The host {parts.hostname!r} resolves to a loopback, private or reserved address; "
                            "webhooks only go to public addresses.")
    return url.strip()

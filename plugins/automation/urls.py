"""Which webhook URLs we may call: http(s) only, resolved once, every address judged by `addresses.refusal`.

Never opens a connection: it returns a `Destination` whose checked addresses `transport` connects to, so the
name is not resolved a second time between the check and the connection (DNS rebinding).
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from core.errors import Unprocessable
from plugins.automation.addresses import parse, refusal

MAX_URL_LENGTH = 2000


class UrlNotAllowed(Unprocessable):
    """422 `url_not_allowed`: not http(s), unresolvable, or pointing at a special-purpose address."""

    type = "url_not_allowed"


@dataclass(frozen=True)
class Destination:
    """A checked webhook URL: where to connect (`addresses`, all allowed) and what to ask for there."""

    url: str
    scheme: str
    host: str
    port: int
    target: str
    addresses: tuple[str, ...]


def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to for a TCP connection (a literal address resolves to itself)."""
    infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    return list(dict.fromkeys(info[4][0] for info in infos))


def _ascii_host(hostname: str) -> str:
    try:
        return hostname.encode("idna").decode("ascii") if not hostname.isascii() else hostname
    except UnicodeError as exc:
        raise UrlNotAllowed(f"The host {hostname!r} is not a valid host name.") from exc


def check_url(url: str, *, allow_private: bool = False) -> Destination:
    """Resolve `url`'s host once and check every address; raise UrlNotAllowed (422 `url_not_allowed`) if any is
    refused. `allow_private` is the operator switch for private networks (see `addresses`)."""
    if not isinstance(url, str) or len(url) > MAX_URL_LENGTH:
        raise UrlNotAllowed(f"A webhook URL is at most {MAX_URL_LENGTH} characters.")
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UrlNotAllowed("This is not a valid URL.") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UrlNotAllowed("Webhook URLs must be http:// or https:// URLs with a host name.")
    if parts.username or parts.password:
        raise UrlNotAllowed("Webhook URLs must not carry credentials; verify our signature instead.")
    host = _ascii_host(parts.hostname)
    port = port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = resolve(host, port)
    except (OSError, UnicodeError) as exc:
        raise UrlNotAllowed(f"The host {host!r} does not resolve.") from exc
    if not addresses:
        raise UrlNotAllowed(f"The host {host!r} does not resolve.")
    for address in addresses:
        reason = refusal(parse(address), allow_private=allow_private)
        if reason:
            raise UrlNotAllowed(f"The host {host!r} resolves to {reason}: a loopback, private or reserved address. "
                                "Webhooks only go to public addresses.", address=address)
    target = quote((parts.path or "/") + (f"?{parts.query}" if parts.query else ""), safe="/?&=%:@!$'()*+,;~")
    return Destination(url=url, scheme=parts.scheme, host=host, port=port, target=target,
                       addresses=tuple(addresses))

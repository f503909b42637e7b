"""Web origins a tenant allows: browsers calling its API (CORS) and sites framing its pages (embedding).

Validates origins and reads the lists from Org.settings (the union over tenants cached briefly); it never
writes an Org (`tenants.service` does) and never touches a response (`core.api.cors`, `core.api.http_headers`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from core import invalidation
from core.errors import Unprocessable
from core.memo import TimedMemo
from core.models import Org

CORS_SETTING = "cors_origins"  # Org.settings key: origins whose pages may call the tenant's API
EMBED_SETTING = "embed_origins"  # Org.settings key: origins that may frame the tenant's embeddable pages
MAX_ORIGINS = 20
_DEFAULT_PORTS = {"http": 80, "https": 443}
_HOST = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$")
_UNION = TimedMemo(30.0)  # the origins any active tenant allows for CORS, for preflights


def normalise_origin(text: str) -> str:
    """`scheme://host[:port]` as a browser sends it in `Origin` (lower case, default port dropped).

    Raises ValueError for anything else: another scheme, a path (even `/`), a query, user info, `*`, `null`.
    """
    if not isinstance(text, str) or len(text) > 300 or text != text.strip():
        raise ValueError("an origin is a string of at most 300 characters without spaces")
    parts = urlsplit(text)
    if parts.scheme.lower() not in _DEFAULT_PORTS or not parts.netloc:
        raise ValueError("an origin starts with http:// or https:// and names a host")
    if parts.path or parts.query or parts.fragment or text.endswith(("?", "#")) or "@" in parts.netloc:
        raise ValueError("an origin is scheme://host[:port] with no path, query or user")
    try:
        port = parts.port
    except ValueError as exc:
        raise ValueError("the port is not a number from 0 to 65535") from exc
    host = (parts.hostname or "").lower()
    is_ipv6 = parts.netloc.startswith("[")
    if not is_ipv6 and not _HOST.match(host):
        raise ValueError("the host is letters, digits, dots and dashes (use the punycode of a non-ASCII name)")
    scheme = parts.scheme.lower()
    shown = f"[{host}]" if is_ipv6 else host
    return f"{scheme}://{shown}" if port in (None, _DEFAULT_PORTS[scheme]) else f"{scheme}://{shown}:{port}"


def check_origins(values: Iterable[str], field: str) -> list[str]:
    """The distinct normalised origins in order; 422 `invalid_origin` naming each bad one under `errors[field]`."""
    values = list(values)
    if len(values) > MAX_ORIGINS:
        raise Unprocessable(f"`{field}` lists at most {MAX_ORIGINS} origins.", type="invalid_origin",
                            errors={field: [f"At most {MAX_ORIGINS} origins."]})
    good, bad = [], {}
    for index, value in enumerate(values):
        try:
            good.append(normalise_origin(value))
        except ValueError as exc:
            bad[str(index)] = [f"{str(value)[:80]!r}: {exc}."]
    if bad:
        raise Unprocessable(f"`{field}` holds origins that are not scheme://host[:port].", type="invalid_origin",
                            errors={field: bad})
    return list(dict.fromkeys(good))


def cors_origins(org: Org) -> list[str]:
    """The origins whose web pages may call this tenant's API from a browser."""
    return (org.settings or {}).get(CORS_SETTING) or []


def embed_origins(org: Org) -> list[str]:
    """The origins that may show this tenant's embeddable pages in a frame."""
    return (org.settings or {}).get(EMBED_SETTING) or []


def _load_union() -> frozenset[str]:
    rows = Org.select(Org.settings).where(Org.active == True)  # noqa: E712
    return frozenset(origin for row in rows for origin in cors_origins(row))


def any_tenant_allows(origin: str) -> bool:
    """True when some active tenant allows `origin` for CORS (the union is cached for 30 s per process)."""
    return origin in _UNION.get(None, _load_union)


def forget_origins() -> None:
    """Drop the cached union after a tenant's origins (or its active flag) changed: here once the change commits,
    on every other process through the invalidation bus."""
    invalidation.announce("origins")


invalidation.on_change("origins", lambda _key: _UNION.forget())

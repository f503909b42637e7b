"""Tenancy: the `orgid` header, the request's `Host` when the operator gave a tenant that hostname
(`TenantDomain`), or the staff API key a caller sends picks the tenant; every tenant-owned query goes through
`scoped`.

A record of another tenant is never found (404), so existence never leaks across tenants.
"""

from __future__ import annotations

import functools
import re
from typing import TypeVar

from flask import g, request
from peewee import Expression

from core import invalidation
from core.api_keys import api_key_in
from core.db import is_sqlite
from core.errors import ApiError, NotFound, Unprocessable
from core.memo import TimedMemo
from core.models import Org, TenantDomain
from core.services.statements import CompiledQuery, Slot, compile_query

M = TypeVar("M")

_exempt_blueprints: set[str] = {"api-docs"}  # flask-smorest's /openapi.json and /docs
_ORGS = TimedMemo(5.0)  # active tenants by id
ORG_ID_MAX = 64  # Org.id's column length: a longer header names no tenant and is shown cut to this
DOMAIN_SECONDS = 5.0  # how stale a worker's hostname map may be while the invalidation bus is down
_DOMAINS = TimedMemo(DOMAIN_SECONDS)  # one entry: the deployment's {hostname: org id}, read in one query
_HOSTNAME = re.compile(r"(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*")


def tenant_exempt(blueprint):
    """Mark a blueprint whose routes need no `orgid` header (operator API, docs, provider webhooks)."""
    _exempt_blueprints.add(blueprint.name)
    return blueprint


def is_exempt(blueprint_name: str | None) -> bool:
    """True for routes that are served without a tenant."""
    return blueprint_name in _exempt_blueprints


def load_org(org_id: str) -> Org | None:
    """The active Org with this id, cached for a few seconds per process."""
    return _ORGS.get(org_id, lambda: Org.get_or_none((Org.id == org_id) & (Org.active == True)),  # noqa: E712
                     keep_none=False)


def forget_org(org_id: str) -> None:
    """Drop a cached Org after it changed (disabled, renamed, plugins switched): here once the change commits,
    on every other process through the invalidation bus."""
    invalidation.announce("org", org_id)


invalidation.on_change("org", _ORGS.forget)


def org_for_header(value: str | None) -> Org:
    """The active tenant an `orgid` header names; 400 `missing_orgid` or 404 `unknown_org` otherwise."""
    org_id = (value or "").strip()
    if not org_id:
        raise ApiError("Send the tenant id in the `orgid` header.", status=400, type="missing_orgid")
    org = load_org(org_id) if len(org_id) <= ORG_ID_MAX else None
    if org is None:
        shown = org_id if len(org_id) <= ORG_ID_MAX else org_id[:ORG_ID_MAX] + "..."
        raise ApiError(f"No organisation with id {shown!r}; check the `orgid` header.", status=404,
                       type="unknown_org")
    return org


def normalise_hostname(value: object) -> str | None:
    """A hostname as `TenantDomain` stores it: lower-case, without a trailing dot; None unless it is a valid DNS
    name (letters, digits and dashes in dot-separated labels of at most 63, 253 in all) with no port or path."""
    if not isinstance(value, str):
        return None
    host = value.strip().lower().removesuffix(".")
    return host if _HOSTNAME.fullmatch(host) else None


def request_hostname(host: str) -> str:
    """The hostname of a `Host` header: lower-case, without its port (an IPv6 literal keeps its brackets)."""
    host = host.lower()
    if host.startswith("["):
        return host[:host.find("]") + 1]
    return host.partition(":")[0].removesuffix(".")


def _domain_map() -> dict[str, str]:
    """The deployment's {hostname: org id}, read in one query at most every DOMAIN_SECONDS per process."""
    return _DOMAINS.get("map", lambda: dict(TenantDomain.select(TenantDomain.hostname, TenantDomain.org).tuples()))


def tenant_hostname(org_id: str) -> str | None:
    """The hostname a tenant's public pages are served at: the first of its hostnames in order (None without
    one), from the same cached map as `tenant_for_host`."""
    return _DOMAINS.get("by_org", lambda: _first_hostnames(_domain_map())).get(org_id)


def _first_hostnames(domains: dict[str, str]) -> dict[str, str]:
    first: dict[str, str] = {}
    for hostname, org_id in sorted(domains.items()):
        first.setdefault(org_id, hostname)
    return first


def forget_domains() -> None:
    """Drop the hostname map (after the operator added or removed a tenant's hostname): here once the change
    commits, on every other process through the invalidation bus."""
    invalidation.announce("domains")


invalidation.on_change("domains", lambda _key: _DOMAINS.forget())


def tenant_for_host(host: str | None) -> Org | None:
    """The active tenant served at `host` (a `Host` header, its port ignored), or None for a hostname no
    tenant has (or an inactive tenant's). One dict lookup in the cached hostname map; no query when warm."""
    if not host:
        return None
    org_id = _domain_map().get(request_hostname(host))
    return load_org(org_id) if org_id is not None else None


def resolve_tenant() -> None:
    """before_request: put the request's tenant on `g.org`: the one its `Host` names (an `orgid` header must
    then name the same: 403 `org_mismatch`), else the `orgid` header's (400 `missing_orgid`, 404 `unknown_org`).
    A request with neither that sends a staff API key is let through: `load_identity` takes the key's tenant."""
    if request.url_rule is None or request.method == "OPTIONS" or is_exempt(request.blueprint):
        return
    header = request.headers.get("orgid")
    domains = _domain_map()
    org_id = domains.get(request_hostname(request.host)) if domains else None
    if org_id is not None:
        g.org = _org_for_domain(org_id, header)
        return
    if not (header or "").strip() and api_key_in(request.headers.get("Authorization")) is not None:
        g.org = None
        return
    g.org = org_for_header(header)


def _org_for_domain(org_id: str, header: str | None) -> Org:
    """The tenant a request's hostname names, if the `orgid` header (when sent) agrees and it is active."""
    sent = (header or "").strip()
    if sent and sent != org_id:
        raise ApiError("This hostname belongs to another organisation than the `orgid` header names; drop the "
                       "header or send this organisation's id.", status=403, type="org_mismatch")
    org = load_org(org_id)
    if org is None:
        raise ApiError("The organisation served at this hostname is not active.", status=404, type="unknown_org")
    return org


def adopt_tenant(org_id: str) -> Org:
    """The tenant of the API key a request sent without `orgid` (`load_identity`); 404 `unknown_org` when it
    is no longer active."""
    org = load_org(org_id)
    if org is None:
        raise ApiError("The organisation of this API key is not active.", status=404, type="unknown_org")
    return org


def current_org() -> Org:
    """The tenant of the current request (set by `resolve_tenant`)."""
    return g.org


def scoped(model: type[M], org: Org | str, *fields) -> M:
    """`model.select(*fields)` limited to one tenant's rows: the only way views and services query."""
    org_id = org if isinstance(org, str) else org.id
    return model.select(*fields).where(model.org == org_id)


@functools.lru_cache(maxsize=64)
def _by_id_sql(model, sqlite: bool) -> CompiledQuery:
    return compile_query(scoped(model, Slot("org")).where(model.id == Slot("id")).limit(1))


def same_tenant(left, right) -> Expression:
    """`left.org_id = right.org_id`: what a join between two tenant tables adds to its ON, so the join stays
    within one tenant (and is co-located when the tables are distributed by org_id)."""
    return left.org == right.org


def along(fk, dest=None) -> Expression:
    """The ON condition of a join along the foreign key `fk` (a field of a model or of its alias) to `dest`
    (default: the model it points at), within one tenant: `fk = dest.id AND dest.org_id = source.org_id`."""
    dest = fk.rel_model if dest is None else dest
    return (fk == dest.id) & same_tenant(dest, fk.model)


def get_scoped(model: type[M], org: Org | str, record_id, what: str | None = None) -> M:
    """One tenant-owned record by id, or NotFound (`<what>_not_found`) whether absent or another tenant's.

    The SELECT is compiled once per model (`core.services.statements`): most requests read a record this way.
    """
    label = what or model.__name__.lower()
    rows = []
    if record_id is not None and isinstance(record_id, str | int) and len(str(record_id)) <= 64:
        org_id = org if isinstance(org, str) else org.id
        rows = _by_id_sql(model, is_sqlite()).rows(model, org=org_id, id=str(record_id))
    if not rows:
        raise NotFound(f"No {label.replace('_', ' ')} with id {record_id!r}.", type=f"{label}_not_found")
    return rows[0]


def require_own_ids(model: type, org: Org | str, ids, field: str) -> list[str]:
    """The distinct `ids` in order, if every one names a `model` record of this tenant; else 422 `unknown_ids`.

    For id lists in request bodies (a promotion's `ticketTypeIds`...): another tenant's id is refused exactly
    like a made-up one, so existence never leaks. The error lists the unknown ids under `errors[field]`.
    """
    wanted = list(dict.fromkeys(str(i) for i in ids or ()))
    found = {row.id for row in scoped(model, org, model.id).where(model.id.in_(wanted))} if wanted else set()
    unknown = [i for i in wanted if i not in found]
    if unknown:
        shown = ", ".join(repr(i) for i in unknown[:5]) + (", ..." if len(unknown) > 5 else "")
        raise Unprocessable(f"`{field}` names records this organisation does not have: {shown}.",
                            type="unknown_ids", errors={field: unknown})
    return wanted

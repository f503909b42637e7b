"""A tenant's staff API keys: issue one, list them, change a key's role, name or scopes, revoke one.

The one place for these rules: the tenant's admins call them through `/org/api-keys` (`core.api.api_keys`), the
hosting operator through `/operator/tenants/{org}/api-keys` and `boxoffice tenants` (`tenants`). How a key is
made, hashed and checked on a request lives in `core.api_keys`; a change here reaches every worker within
`core.api_keys.REVOCATION_SECONDS` (at once in this process, through `forget_api_key`). Returns plain records,
never Flask objects.
"""

from __future__ import annotations

from collections.abc import Iterable

from core.api_keys import API_KEY_PREFIX_LENGTH, SCOPES, forget_api_key, hash_api_key, new_api_key, scopes_text
from core.db import write_transaction
from core.errors import Conflict, Unprocessable
from core.identity import API_KEY_SUB, Identity
from core.models import ApiKey, Org, utcnow
from core.models.tenant import API_KEY_ROLES
from core.services import audit
from core.tenancy import get_scoped, scoped

ADMIN = "admin"


def _checked_role(role: str) -> str:
    if role not in API_KEY_ROLES:
        raise Unprocessable(f"role must be one of {', '.join(API_KEY_ROLES)}", type="invalid_role")
    return role


def _checked_name(name: str) -> str:
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise Unprocessable("An API key needs a name of 1 to 200 characters.", type="invalid_name")
    return name


def _checked_scopes(scopes: Iterable[str]) -> str:
    wanted = set(scopes)
    if not wanted or not wanted <= set(SCOPES):
        raise Unprocessable(f"An API key holds one or more of the scopes {', '.join(SCOPES)}.",
                            type="invalid_scopes")
    return scopes_text(wanted)


def _is_callers_key(record: ApiKey, caller: Identity | None) -> bool:
    return caller is not None and caller.sub == API_KEY_SUB + record.id


def issue_api_key(org: Org | str, name: str, role: str = "staff",
                  scopes: Iterable[str] | None = None) -> tuple[ApiKey, str]:
    """Create a staff, admin or officer API key for `org` holding `scopes` (None: every scope): its record and
    the key itself (shown once; only its hash is kept). 422 `invalid_role`, `invalid_name` or `invalid_scopes`."""
    org_id = org if isinstance(org, str) else org.id
    role, name = _checked_role(role), _checked_name(name)
    held = _checked_scopes(SCOPES if scopes is None else scopes)
    key = new_api_key()
    with write_transaction():
        record = ApiKey.create(org=org_id, name=name, role=role, prefix=key[:API_KEY_PREFIX_LENGTH],
                               key_hash=hash_api_key(key), scopes=held)
        audit.record(org_id, "api_key.issued", "api_key", record.id, after=_audited(record))
    return record, key


def _audited(record: ApiKey) -> dict:
    """What the audit log keeps of a key: never the key or its digest."""
    return {"name": record.name, "role": record.role, "scopes": record.scopes.split(), "prefix": record.prefix}


def list_api_keys(org: Org | str) -> list[ApiKey]:
    """The tenant's API keys, newest first, revoked ones included (the caller never shows the key or its hash)."""
    return list(scoped(ApiKey, org).order_by(ApiKey.created_at.desc(), ApiKey.id))


def update_api_key(org: Org | str, key_id: str, *, name: str | None = None, role: str | None = None,
                   scopes: Iterable[str] | None = None, caller: Identity | None = None) -> ApiKey:
    """Change a live key's `name`, `role` and/or `scopes` (None: unchanged). The key, and every token exchanged
    from it, acts with the new role and scopes from its next request (within `REVOCATION_SECONDS` on other
    workers, as a revocation). 404 `api_key_not_found` (also another tenant's key); 422 `invalid_role`,
    `invalid_name`, `invalid_scopes`; 409 `api_key_revoked_already` for a revoked key; 409 `own_api_key` when
    `caller` would take the admin role or the `admin` scope from the key it is calling with."""
    changes = {}
    if name is not None:
        changes["name"] = _checked_name(name)
    if role is not None:
        changes["role"] = _checked_role(role)
    if scopes is not None:
        changes["scopes"] = _checked_scopes(scopes)
    with write_transaction():
        record = get_scoped(ApiKey, org, key_id, "api_key")
        if record.revoked_at is not None:
            raise Conflict("This API key was revoked; issue a new one instead of changing it.",
                           type="api_key_revoked_already")
        if _is_callers_key(record, caller) and (changes.get("role", ADMIN) != ADMIN
                                                or ADMIN not in changes.get("scopes", ADMIN).split()):
            raise Conflict("An admin may not take the admin role or the `admin` scope from the API key it is "
                           "calling with; use another admin key.", type="own_api_key")
        if changes:
            ApiKey.update(**changes).where(record.row_condition()).execute()
            before, after = audit.changes(_audited(record), _audited(record.reread()))
            if after:
                audit.record(record.org_id, "api_key.changed", "api_key", record.id, before=before, after=after)
        forget_api_key(record.id)
    return record.reread()


def revoke_api_key(org: Org | str, key_id: str, *, caller: Identity | None = None) -> ApiKey:
    """Revoke one of the tenant's API keys (idempotent): it can no longer be sent or exchanged, and tokens already
    issued from it are refused (401 `api_key_revoked`) from their next request (on every worker within a second,
    through the invalidation bus; within `REVOCATION_SECONDS` while it is down). 404 `api_key_not_found` (also
    another tenant's key); 409 `own_api_key` when `caller` is calling with that key."""
    record = get_scoped(ApiKey, org, key_id, "api_key")
    if _is_callers_key(record, caller):
        raise Conflict("An admin may not revoke the API key it is calling with; use another admin key.",
                       type="own_api_key")
    if record.revoked_at is None:
        with write_transaction():
            moment = utcnow()
            won = ApiKey.update(revoked_at=moment).where(
                record.row_condition() & ApiKey.revoked_at.is_null()).execute()
            if won == 1:
                audit.record(record.org_id, "api_key.revoked", "api_key", record.id, before={"revoked_at": None},
                             after={"revoked_at": moment, "name": record.name})
            forget_api_key(record.id)
        record = record.reread()
    else:
        forget_api_key(record.id)
    return record

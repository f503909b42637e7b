"""Staff API keys: how they are made and stored, their scopes, and their use straight from a request header.

A key is sent as `Authorization: Token <key>` or `Authorization: Bearer <key>` (a JWT has dots, a key never
does) and names its tenant, so no `orgid` header is needed. Keys are stored as SHA-256 digests, so checking one
is a single lookup; a key's state is kept per process for `REVOCATION_SECONDS` (a revocation, or a change of
its role or scopes, reaches every worker at once through the invalidation bus, and within that time while the bus
is down; the same for JWTs exchanged from a key), and its last use is written at most once a `LAST_USE_SECONDS`
per key and process.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import secrets
import time
from typing import Protocol

from flask import current_app

from core import invalidation
from core.db import write_transaction
from core.errors import Unauthorized
from core.identity import API_KEY_SUB, Identity
from core.memo import BoundedMemo, TimedMemo
from core.models import ApiKey, utcnow
from core.models.tenant import API_KEY_SCOPES

SCOPES = API_KEY_SCOPES
SCOPE_DOCS = {
    "read": "Read staff data (events, venues, tickets, bookings, refunds, settings).",
    "events": "Create, change and delete events, venues, ticket types and catalog records.",
    "orders": "Sell, issue, transfer, cancel and refund tickets and bookings.",
    "checkin": "Scan, validate, activate and check in tickets at the door.",
    "admin": "Change the organisation's settings, webhooks and integrations.",
}
API_KEY_PREFIX_LENGTH = 10  # the leading characters of a key stored in clear (ApiKey.prefix) to tell keys apart
REVOCATION_SECONDS = 5.0  # how stale a worker's view of a key (revoked or not) may be while the bus is down
LAST_USE_SECONDS = 60  # a key's `last_used_at` is written at most this often per key and process
ATTEMPTS_EXTENSION = "boxoffice.api_key_attempts"  # app.extensions: the KeyAttempts that throttles bad keys

_REVOKED = TimedMemo(REVOCATION_SECONDS)  # key id -> (role, scopes), None when revoked (JWTs exchanged from a key)
_GRANTS = TimedMemo(REVOCATION_SECONDS)  # key digest -> its caller, or REVOKED (keys sent directly; unknown: not kept)
_KNOWN = BoundedMemo(4096)  # digests this process verified before: their re-reads are not throttled
_LAST_USE: dict[str, float] = {}  # key id -> monotonic time this process last wrote its `last_used_at`


REVOKED = "revoked"


class KeyAttempts(Protocol):
    """Counts failed key attempts (the throttle installs one under ATTEMPTS_EXTENSION)."""

    def check(self) -> None:
        """Raise (429) when this caller made too many failed attempts already."""

    def failed(self) -> None:
        """Count one failed attempt of this caller."""


def new_api_key() -> str:
    """A fresh staff API key (shown once; only its hash is stored)."""
    return "bo_" + secrets.token_urlsafe(32)


def hash_api_key(key: str) -> str:
    """The SHA-256 hex digest under which an API key is stored and looked up."""
    return hashlib.sha256(key.encode()).hexdigest()


def scopes_text(scopes) -> str:
    """The stored form of a set of scopes: their names in SCOPES order, space-separated."""
    return " ".join(scope for scope in SCOPES if scope in set(scopes))


ALL_SCOPES_TEXT = scopes_text(SCOPES)


def api_key_in(authorization: str | None) -> str | None:
    """The API key an `Authorization` header carries (`Token <key>`, or `Bearer <key>` that is no JWT), else
    None (no header, a JWT, or a malformed header)."""
    scheme, _, credential = (authorization or "").partition(" ")
    credential = credential.strip()
    scheme = scheme.lower()
    if not credential or scheme not in ("token", "bearer") or (scheme == "bearer" and "." in credential):
        return None
    return credential


def _attempts() -> KeyAttempts | None:
    return current_app.extensions.get(ATTEMPTS_EXTENSION)


def identity_for_key(key: str) -> Identity:
    """The caller a live staff API key names (its tenant, role, name and scopes), or 401 `invalid_token` /
    `api_key_revoked`. A key not verified before in this process is refused while its caller is throttled
    (429), and every refusal counts as a failed attempt. Warm, this reads no row and writes none (but the
    last use, once a LAST_USE_SECONDS)."""
    digest = hash_api_key(key)

    def load() -> Identity | str | None:
        attempts = _attempts()
        if attempts is not None and _KNOWN.get(digest) is None:
            attempts.check()
        row = ApiKey.select(ApiKey.id, ApiKey.org, ApiKey.role, ApiKey.name, ApiKey.scopes,
                            ApiKey.revoked_at).where(ApiKey.key_hash == digest).first()
        if row is None or row.revoked_at is not None:
            return None if row is None else REVOKED
        _KNOWN.put(digest, True)
        return Identity(sub=API_KEY_SUB + row.id, org=row.org_id, role=row.role, email=row.name,
                        scopes=frozenset((row.scopes or "").split()))

    identity = _GRANTS.get(digest, load, keep_none=False)
    if identity is None or identity is REVOKED:
        attempts = _attempts()
        if attempts is not None:
            attempts.failed()
        if identity is None:
            raise Unauthorized("The API key is not valid.", type="invalid_token")
        raise Unauthorized("This API key was revoked.", type="api_key_revoked")
    note_use(identity.org, identity.sub)
    return identity


def note_use(org_id: str, sub: str) -> None:
    """Record that the key `sub` names (`key:<id>`) was used: at most one conditional UPDATE of its
    `last_used_at` per LAST_USE_SECONDS, key and process (other workers' writes within that time change no
    row)."""
    now = time.monotonic()
    if now - _LAST_USE.get(sub, -LAST_USE_SECONDS) < LAST_USE_SECONDS:
        return
    _LAST_USE[sub] = now
    key_id = sub[len(API_KEY_SUB):]
    moment = utcnow()
    with write_transaction():
        ApiKey.update(last_used_at=moment).where(
            (ApiKey.id == key_id) & (ApiKey.org == org_id)
            & (ApiKey.last_used_at.is_null()
               | (ApiKey.last_used_at < moment - dt.timedelta(seconds=LAST_USE_SECONDS)))).execute()


def api_key_grant(org_id: str, key_id: str) -> tuple[str, frozenset[str]] | None:
    """The role and scopes the API key `key_id` holds now, or None when it was revoked or deleted. Each process
    keeps a key's state up to REVOCATION_SECONDS; `forget_api_key` drops it on every worker at once (within
    that time while the invalidation bus is down)."""
    def load() -> tuple[str, frozenset[str]] | None:
        row = (ApiKey.select(ApiKey.revoked_at, ApiKey.role, ApiKey.scopes)
               .where((ApiKey.id == key_id) & (ApiKey.org == org_id)).first())
        if row is None or row.revoked_at is not None:
            return None
        return row.role, frozenset((row.scopes or "").split())

    return _REVOKED.get(key_id, load)


def key_token_identity(identity: Identity) -> Identity:
    """The caller of a JWT exchanged from an API key, with the role the key holds now and no scope the key no
    longer holds (a token keeps no grant its key lost, within `api_key_grant`'s bound), or 401
    `api_key_revoked` when the key was revoked."""
    grant = api_key_grant(identity.org, identity.sub[len(API_KEY_SUB):])
    if grant is None:
        raise Unauthorized("The API key this token came from was revoked; exchange a live key at /auth/token.",
                           type="api_key_revoked")
    role, scopes = grant
    if role == identity.role and identity.scopes is not None and identity.scopes <= scopes:
        return identity  # the usual case: nothing changed since the token was issued (no allocation)
    return dataclasses.replace(identity, role=role,
                               scopes=scopes if identity.scopes is None else identity.scopes & scopes)


def forget_api_key(key_id: str) -> None:
    """Drop the view of an API key (after revoking it or changing its role, name or scopes): here once the change
    commits, on every other process through the invalidation bus."""
    invalidation.announce("api_key", key_id)


def _forget_key_here(key_id: str | None) -> None:
    _REVOKED.forget(key_id)
    _GRANTS.forget()  # keyed by digest: the key's entry is not findable by its id


invalidation.on_change("api_key", _forget_key_here)

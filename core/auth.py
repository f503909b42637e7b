"""Authentication and roles: scrypt password hashes, JWTs (HS256 pinned, exp required), staff API keys sent
directly (`core.api_keys`).

Views declare who may call them (a role group of `core.roles`, written into the operation's OpenAPI as
`x-roles`), and the scope a staff route needs, with `require_role`; the identity of a request lives on
`g.identity`. A staff member's role (`core.member_grants`) and a customer's account state (sessions ended,
officer granted or revoked) are read live per request from a few-seconds cache, so a change holds on the next
request.
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import datetime as dt
import functools
import hashlib
import hmac
import secrets
import time

import jwt
from flask import current_app, g, has_request_context, request

from core import invalidation
from core.api_keys import SCOPES, api_key_in, identity_for_key, key_token_identity
from core.config import current_config
from core.door_credentials import device_token_identity
from core.errors import ApiError, Forbidden, Unauthorized
from core.identity import API_KEY_SUB, OPERATOR_IDENTITY, STAFF_ROLES, Actor, Identity, actor_for
from core.member_grants import member_token_identity
from core.memo import TimedMemo
from core.request_id import current_request_id
from core.roles import ADMIN, CUSTOMER, DOOR_DEVICE, MEMBER, OFFICER, STAFF, TOTP_ENROLMENT
from core.tenancy import adopt_tenant, is_exempt

JWT_ALGORITHM = "HS256"
# customer id -> (epoch seconds before which their tokens are refused, officer?), as stale as API keys may be
_ACCOUNTS = TimedMemo(5.0)
ROLES = (CUSTOMER, *STAFF_ROLES, TOTP_ENROLMENT, DOOR_DEVICE)  # what a JWT's `role` claim may be
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
ROLE_ORDER = (CUSTOMER, *STAFF_ROLES, MEMBER, DOOR_DEVICE)  # how `x-roles` lists them


def hash_password(password: str) -> str:
    """A salted scrypt hash of `password`, self-describing so parameters can change later."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_SCRYPT)
    b64 = base64.b64encode
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    """True when `password` matches the stored scrypt hash (constant-time comparison)."""
    try:
        _, n, r, p, salt, digest = stored.split("$")
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r),
                                p=int(p), dklen=len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def issue_token(secret: str, *, sub: str, org: str, role: str, email: str = "", ttl_seconds: int = 43200,
                scopes: frozenset[str] | None = None, event: str | None = None) -> str:
    """A signed JWT for this identity, valid for `ttl_seconds`; `scopes` (when given) limit what it may do;
    `event` binds a door device's token to the one event it scans for."""
    now = dt.datetime.now(dt.UTC)
    claims = {"sub": sub, "org": org, "role": role, "email": email, "iat": now.timestamp(),
              "exp": now + dt.timedelta(seconds=ttl_seconds)}
    if scopes is not None:
        claims["scopes"] = [scope for scope in SCOPES if scope in scopes]
    if event is not None:
        claims["event"] = event
    return jwt.encode(claims, secret, algorithm=JWT_ALGORITHM)


@functools.lru_cache(maxsize=4096)
def _verified(secret: str, token: str) -> tuple[Identity, float]:
    """Signature and claims check of one token string (cached: a door scanner sends the same token all day)."""
    try:
        claims = jwt.decode(token, secret, algorithms=[JWT_ALGORITHM],
                            options={"require": ["exp", "sub", "org", "role"]})
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized("The token has expired; log in again.", type="token_expired") from exc
    except jwt.PyJWTError as exc:
        raise Unauthorized("The bearer token is not valid.", type="invalid_token") from exc
    scopes = claims.get("scopes")
    event = claims.get("event")
    if (claims.get("role") not in ROLES or not (scopes is None or isinstance(scopes, list))
            or (claims["role"] == DOOR_DEVICE) != isinstance(event, str)):
        raise Unauthorized("The bearer token is not valid.", type="invalid_token")
    identity = Identity(sub=str(claims["sub"]), org=str(claims["org"]), role=claims["role"],
                        email=str(claims.get("email") or ""), issued_at=float(claims.get("iat") or 0),
                        scopes=None if scopes is None else frozenset(map(str, scopes)), event_id=event)
    return identity, float(claims["exp"])


def decode_token(secret: str, token: str) -> Identity:
    """Verify a JWT (HS256 only, `exp` required) and return its identity, or raise Unauthorized.

    A token verified before is not verified again, but its expiry is checked on every call.
    """
    identity, expires = _verified(secret, token)
    if time.time() >= expires:
        raise Unauthorized("The token has expired; log in again.", type="token_expired")
    return identity


def token_for(identity_sub: str, org: str, role: str, email: str = "",
              scopes: frozenset[str] | None = None) -> str:
    """Issue a JWT with the running app's secret and TTL."""
    config = current_app.config["BOXOFFICE"]
    return issue_token(config.secret_key, sub=identity_sub, org=org, role=role, email=email,
                       ttl_seconds=config.jwt_ttl_seconds, scopes=scopes)


def device_token_for(device_id: str, org: str, event_id: str, email: str, expires_at: dt.datetime) -> str:
    """A door device's JWT (role `door_device`, `sub` `device:<id>`, bound to `event_id`), signed with the running
    app's secret, expiring at `expires_at` (naive UTC: the device row's expiry)."""
    from core.identity import DEVICE_SUB

    ttl = int((expires_at.replace(tzinfo=dt.UTC) - dt.datetime.now(dt.UTC)).total_seconds())
    return issue_token(current_config().secret_key, sub=DEVICE_SUB + device_id, org=org, role=DOOR_DEVICE,
                       email=email, ttl_seconds=ttl, event=event_id)


def identity_for_header(authorization: str | None, org) -> Identity | None:
    """The caller an `Authorization` header names (None when it is absent): a live staff API key
    (`Token <key>` or `Bearer <key>`), or a live `Bearer` JWT of this app, from an API key that was not revoked or
    a customer session that was not ended; of the tenant `org` when the route has one. Otherwise 401
    `invalid_token`/`token_expired`/`api_key_revoked`/`session_revoked` or 403 `org_mismatch`."""
    if not authorization:
        return None
    key = api_key_in(authorization)
    identity = identity_for_key(key) if key is not None else _identity_for_jwt(authorization)
    if org is not None and identity.org != org.id:
        raise Forbidden("This token belongs to another organisation than the `orgid` header.",
                        type="org_mismatch")
    return identity


def _identity_for_jwt(authorization: str) -> Identity:
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Send `Authorization: Bearer <token>` or `Authorization: Token <api key>`.",
                           type="invalid_token")
    identity = decode_token(current_config().secret_key, token.strip())
    if identity.sub.startswith(API_KEY_SUB):
        identity = key_token_identity(identity)
    elif identity.is_member:
        identity = member_token_identity(identity)
    elif identity.role == DOOR_DEVICE:
        identity = device_token_identity(identity)
    if identity.role == "customer":
        valid_after, officer = _account_state(identity.org, identity.sub)
        if identity.issued_at < valid_after:
            raise Unauthorized("This session was ended (logged out everywhere or the password changed); log in "
                               "again.", type="session_revoked")
        if officer:
            identity = dataclasses.replace(identity, officer=True)
    return identity


def load_identity() -> None:
    """before_request: verify the `Authorization` header if one is sent. Its tenant must equal the `orgid`
    header's; without that header (`resolve_tenant` lets an API key through) the key's tenant is the request's."""
    g.identity = None
    header = request.headers.get("Authorization", "")
    if not header or is_exempt(request.blueprint):
        return
    org = g.get("org", False)
    g.identity = identity_for_header(header, org or None)
    if org is None:  # a tenant route called with an API key and no `orgid`
        g.org = adopt_tenant(g.identity.org)


def _account_state(org_id: str, customer_id: str) -> tuple[float, bool]:
    """(the epoch seconds before which the customer's tokens are refused (0: none are), whether the account is
    an officer), in one read. Each process keeps it a few seconds, like `api_key_grant`; `forget_sessions`
    drops it on every process at once."""
    from core.models import Customer

    def load() -> tuple[float, bool]:
        row = (Customer.select(Customer.sessions_valid_after, Customer.officer)
               .where((Customer.id == customer_id) & (Customer.org == org_id)).first())
        moment = row.sessions_valid_after if row is not None else None
        return (moment.replace(tzinfo=dt.UTC).timestamp() if moment is not None else 0.0,
                bool(row is not None and row.officer))

    return _ACCOUNTS.get(customer_id, load)


def forget_sessions(customer_id: str) -> None:
    """Drop the view of a customer's account (after ending their sessions, or granting or revoking the officer
    role): here once the change commits, on every other process through the invalidation bus."""
    invalidation.announce("account", customer_id)


invalidation.on_change("account", _ACCOUNTS.forget)


def is_officer(identity: Identity | None) -> bool:
    """True for an officer caller: an officer API key (or a token exchanged from one), or a customer whose
    account holds the officer role now (revocation counts from the next request)."""
    return identity is not None and identity.is_officer


def current_identity() -> Identity | None:
    """The verified caller of this request, or None for a guest."""
    return getattr(g, "identity", None)


def door_event(requested: str | None) -> str | None:
    """The event a door request scans for: for a door device's token, its own event (the one it names, or 403
    `device_event_mismatch` when `requested` names another); for any other caller, `requested` as given."""
    identity = current_identity()
    if identity is None or identity.role != DOOR_DEVICE:
        return requested
    if requested is not None and requested != identity.event_id:
        raise ApiError("This door device scans for another event only.", status=403, type="device_event_mismatch",
                       deviceEventId=identity.event_id)
    return identity.event_id


def admit_operator() -> None:
    """Make the hosting operator this request's caller (`core.identity.OPERATOR_IDENTITY`), once an `/operator`
    route checked its token; nothing else admits it."""
    g.identity = OPERATOR_IDENTITY


def request_actor() -> Actor | None:
    """Who this request acts as, for the audit log: the caller (`current_identity`, mapped by
    `core.identity.actor_for`), the client's address (`request.remote_addr`, the real one behind
    BOXOFFICE_TRUSTED_PROXIES through the app's ProxyFix) and the request id. None outside a request. The one
    place an actor is derived from a request; the app installs it as the audit log's actor source."""
    if not has_request_context():
        return None
    return actor_for(current_identity(), request.remote_addr, current_request_id())


def role_names(roles: tuple) -> tuple[str, ...]:
    """`require_role`'s arguments as one tuple of role names: each a role or a group of them (`core.roles`)."""
    names: list[str] = []
    for role in roles:
        for name in ((role,) if isinstance(role, str) else role):
            if name not in names:
                names.append(name)
    return tuple(names)


@functools.lru_cache(maxsize=256)
def allowed_roles(roles: tuple[str, ...]) -> frozenset[str]:
    """The roles that pass a check for `roles` (admin also passes any check naming staff). `officer` admits
    officer keys and members and, through `check_role`, officer customers; `member` any member of the tenant."""
    return frozenset(roles) | ({ADMIN} if STAFF in roles else frozenset())


def check_role(identity: Identity | None, roles: tuple[str, ...], scope: str | None = None,
               members_only: bool = False) -> None:
    """401 `authentication_required` without a caller, 403 `forbidden_role` when it holds none of `roles`, 403
    `insufficient_scope` when it is limited to scopes (an API key, or a JWT exchanged from one) without `scope`;
    with `members_only`, 403 `member_sign_in_required` for any caller but a signed-in member."""
    if identity is None:
        raise Unauthorized("This endpoint needs `Authorization: Bearer <token>` or `Authorization: Token <api key>`.",
                           type="authentication_required")
    allowed = allowed_roles(roles)
    if (identity.role not in allowed and not (identity.officer and OFFICER in allowed)
            and not (identity.is_member and MEMBER in allowed)):
        raise ApiError(f"This endpoint is for {', '.join(sorted(allowed))} only.", status=403,
                       type="forbidden_role", roles=sorted(allowed))
    if members_only and not identity.is_member:
        raise ApiError("Sign in with your own staff account (POST /auth/login) to do this; an API key cannot.",
                       status=403, type="member_sign_in_required")
    if scope is not None and identity.scopes is not None and scope not in identity.scopes:
        raise ApiError(f"This endpoint needs an API key with the `{scope}` scope.", status=403,
                       type="insufficient_scope", scope=scope)


def key_security_scheme(scope: str) -> str:
    """The OpenAPI security scheme of an API key holding `scope` (one per scope: OpenAPI 3.0 lists scopes in a
    security requirement for OAuth2 only)."""
    return f"apiKey.{scope}"


def require_role(*roles: str | tuple[str, ...], scope: str | None = None, members_only: bool = False):
    """View decorator: the caller must hold one of `roles`, each a role or a group of `core.roles` (admin also
    passes any check naming staff; `officer` also admits a customer whose account is an officer; `member` any
    signed-in member of the tenant) and, when it is limited to scopes, `scope`. A route staff may call must name
    its scope (one of `core.api_keys.SCOPES`), unless `members_only`: then only a signed-in member holding one of
    `roles` passes (never an API key; 403 `member_sign_in_required`), and the operation says so with
    `x-member-sign-in: true`. The one declaration of who may call a route: the OpenAPI operation lists the roles
    that pass as `x-roles` and the scope as its API key security scheme."""
    roles = role_names(roles)
    if scope is not None and scope not in SCOPES:
        raise ValueError(f"Unknown API key scope {scope!r}; one of {', '.join(SCOPES)}.")
    if allowed_roles(roles) & set(STAFF_ROLES) and scope is None and not members_only:
        raise TypeError(f"require_role{roles}: a staff route declares the API key scope it needs (`scope=`).")

    def decorator(func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            check_role(current_identity(), roles, scope, members_only)
            return func(*args, **kwargs)

        keys = [{key_security_scheme(scope): []}] if scope and not members_only else []
        security = [{"bearerAuth": []}] + keys
        apidoc = copy.deepcopy(getattr(func, "_apidoc", {}))
        apidoc.setdefault("manual_doc", {}).setdefault("security", security)
        apidoc["manual_doc"]["x-roles"] = [role for role in ROLE_ORDER if role in allowed_roles(roles)]
        if members_only:
            apidoc["manual_doc"]["x-member-sign-in"] = True
        wrapper._apidoc = apidoc
        wrapper.required_scope = scope
        wrapper.allowed_roles = allowed_roles(roles)
        wrapper.members_only = members_only
        return wrapper

    return decorator

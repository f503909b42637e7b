"""The link kit: unguessable bearer tokens kept only as a hash (claim, invite links), and signed, expiring
links that need no row at all (a provider's way back, a download link).

Public for the core (ticket claim links, payment returns) and every plugin (media guest invites). Bearer
tokens: the caller stores the hash and the expiry on its own row; never stores, logs or compares a token in
plain text. Signed links are signed with the deployment's secret key, one purpose per salt.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from itsdangerous import BadSignature, URLSafeTimedSerializer

from core.config import current_config


def token_hash(token: str) -> str:
    """The SHA-256 hex digest under which a link token is stored and looked up."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_link_token() -> tuple[str, str]:
    """A fresh token (43 URL-safe characters; give it to the recipient once) and the hash to store."""
    token = secrets.token_urlsafe(32)
    return token, token_hash(token)


def token_matches(stored_hash: str | None, token: str) -> bool:
    """True if `token` is the one stored as `stored_hash` (constant-time comparison)."""
    return bool(stored_hash) and hmac.compare_digest(stored_hash, token_hash(token))


def _signer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_config().secret_key, salt=f"boxoffice.{purpose}")


def signed_link_token(purpose: str, data: dict) -> str:
    """A URL-safe token carrying `data` (visible to its holder, but not changeable), signed for `purpose`."""
    return _signer(purpose).dumps(data)


def read_signed_link_token(purpose: str, token: str, max_age_seconds: int) -> dict | None:
    """The data of a `signed_link_token` for `purpose`, or None when it was not signed here for that purpose,
    was changed, or is older than `max_age_seconds`."""
    try:
        data = _signer(purpose).loads(token, max_age=max_age_seconds)
    except BadSignature:
        return None
    return data if isinstance(data, dict) else None

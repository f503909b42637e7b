"""The link-token kit: unguessable bearer tokens for claim, invite and download links, kept only as a hash.

Public for the core (ticket claim links) and every plugin (media guest invites); the caller stores the hash
and the expiry on its own row. Never stores, logs or compares a token in plain text.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets


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

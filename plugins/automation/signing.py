"""Stripe-style webhook signatures: `Boxoffice-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "t.body")>`.

Pure functions shared by the sender and by receivers (see docs/notifications.md); never log a secret.
"""

from __future__ import annotations

import hashlib
import hmac
import time

HEADER = "Boxoffice-Signature"
TOLERANCE_SECONDS = 300


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of `"<timestamp>.<body>"` under the endpoint's secret."""
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The header value for `body`, signed now (or at `timestamp`)."""
    stamp = int(time.time()) if timestamp is None else timestamp
    return f"t={stamp},v1={signature(secret, stamp, body)}"


def verify(secret: str, body: bytes, header: str, tolerance: int = TOLERANCE_SECONDS, now: float | None = None) -> bool:
    """True if `header` carries a v1 signature of `body` under `secret`, made within `tolerance` seconds."""
    stamp, candidates = None, []
    for item in (header or "").split(","):
        key, _, value = item.strip().partition("=")
        if key == "t" and value.isdigit():
            stamp = int(value)
        elif key == "v1":
            candidates.append(value)
    if stamp is None or not candidates:
        return False
    if abs((time.time() if now is None else now) - stamp) > tolerance:
        return False
    expected = signature(secret, stamp, body)
    return any(hmac.compare_digest(expected, c) for c in candidates)

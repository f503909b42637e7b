"""Secrets kept at rest encrypted under the deployment key (BOXOFFICE_SECRET_KEY): a claim token waiting
in an e-mail's log row until the e-mail is sent, an idempotent request's stored answer (its JSON text).

Never stores or logs the key or a plain secret; a value sealed under another key does not open (None).
"""

from __future__ import annotations

import base64
import functools
import hashlib

from cryptography.fernet import Fernet, InvalidToken

from core.config import current_config

_PURPOSE = b"boxoffice:sealed-at-rest:"


@functools.lru_cache(maxsize=4)
def _fernet(secret_key: str) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(_PURPOSE + secret_key.encode()).digest()))


def seal(secret: str) -> str:
    """`secret` encrypted and authenticated under the deployment key (Fernet), as text for a JSON column."""
    return _fernet(current_config().secret_key).encrypt(secret.encode()).decode()


def unseal(sealed: str) -> str | None:
    """The secret `seal` encrypted, or None when it was sealed under another key or altered."""
    try:
        return _fernet(current_config().secret_key).decrypt(sealed.encode()).decode()
    except (InvalidToken, ValueError):
        return None

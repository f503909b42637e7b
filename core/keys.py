"""Deployment secrets: the JWT signing secret and the operator token, generated on first run if unset.

Generated values live in the data folder (never in the repository) with owner-only permissions.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def load_or_create_secret(path: Path, nbytes: int = 32) -> str:
    """Return the secret stored at `path`, creating it with a fresh random value on first use."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(nbytes)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    return value


def resolve_secrets(config) -> None:
    """Fill `config.secret_key` and `config.operator_token` from the data folder when not set by env."""
    if not config.secret_key:
        config.secret_key = load_or_create_secret(config.data_path / "secret_key")
    if not config.operator_token:
        config.operator_token = load_or_create_secret(config.data_path / "operator_token")

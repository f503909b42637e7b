"""Who is calling: the identity a verified JWT or staff API key names (`core.auth`, `core.api_keys`)."""

from __future__ import annotations

from dataclasses import dataclass

API_KEY_SUB = "key:"  # the `sub` of a staff API key caller (and of a token exchanged from it): "key:<key id>"
STAFF_ROLES = ("staff", "admin")


@dataclass(frozen=True)
class Identity:
    """Who is calling: subject id, tenant, role and email, from a verified JWT or API key. `scopes`: what a
    key (or a JWT exchanged from one) may do; None for callers without scopes (customers, other staff tokens)."""

    sub: str
    org: str
    role: str
    email: str = ""
    issued_at: float = 0.0  # the token's `iat` (epoch seconds, fractional)
    scopes: frozenset[str] | None = None

    @property
    def is_staff(self) -> bool:
        """Staff or admin."""
        return self.role in STAFF_ROLES

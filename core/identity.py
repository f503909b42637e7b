"""Who is calling: the identity a verified JWT or staff API key names (`core.auth`, `core.api_keys`)."""

from __future__ import annotations

from dataclasses import dataclass

API_KEY_SUB = "key:"  # the `sub` of a staff API key caller (and of a token exchanged from it): "key:<key id>"
OFFICER = "officer"  # a staff role limited to the club's tickets: view them, check in, set attendance
STAFF_ROLES = ("staff", "admin", OFFICER)  # the roles of staff API keys (and of tokens exchanged from them)
FULL_STAFF_ROLES = ("staff", "admin")


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
    officer: bool = False  # a customer whose account an admin made an officer (read live, `core.auth`)

    @property
    def is_staff(self) -> bool:
        """Staff or admin (an officer is not: it may only view tickets, check in and set attendance)."""
        return self.role in FULL_STAFF_ROLES

    @property
    def is_officer(self) -> bool:
        """An officer: an officer API key (or a token exchanged from one), or an officer customer."""
        return self.role == OFFICER or self.officer

"""Who is calling: the identity a verified JWT or staff API key names (`core.auth`, `core.api_keys`).

A plain value: never reads a request or the database.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.roles import MANAGERS, MEMBER_ROLES, OFFICER, TOTP_ENROLMENT

API_KEY_SUB = "key:"  # the `sub` of a staff API key caller (and of a token exchanged from it): "key:<key id>"
DEVICE_SUB = "device:"  # the `sub` of a door device's token: "device:<door device id>"
MEMBER_SUB = "member:"  # the `sub` of a staff member's token: "member:<member id>" (its `email` is theirs)
STAFF_ROLES = MEMBER_ROLES  # the roles of staff API keys and members (and of tokens exchanged from keys)
FULL_STAFF_ROLES = MANAGERS
OPERATOR = "operator"  # the hosting operator (BOXOFFICE_OPERATOR_TOKEN): its identity's sub and role
ACTOR_KINDS = ("api_key", "staff_token", "member", "door_device", "operator", "customer", "system")


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
    event_id: str | None = None  # a door device's token: the one event it may scan for

    @property
    def device_id(self) -> str | None:
        """The id of the door device calling (a device token, `core.door_credentials`), else None."""
        return self.sub[len(DEVICE_SUB):] if self.sub.startswith(DEVICE_SUB) else None

    @property
    def is_staff(self) -> bool:
        """Staff or admin (an officer is not: it may only view tickets, check in and set attendance)."""
        return self.role in FULL_STAFF_ROLES

    @property
    def member_id(self) -> str | None:
        """The id of the staff member calling (a member's token), else None. With `email`, what an audit
        record names as "who"; an API key caller has `sub` `key:<id>` and its name in `email` instead."""
        return self.sub[len(MEMBER_SUB):] if self.sub.startswith(MEMBER_SUB) else None

    @property
    def is_member(self) -> bool:
        """A signed-in staff member (any role, or the restricted token that may only enrol two-factor)."""
        return self.sub.startswith(MEMBER_SUB)

    @property
    def is_enrolment_only(self) -> bool:
        """A member's restricted token that may only enrol two-factor (`core.roles.TOTP_ENROLMENT`)."""
        return self.role == TOTP_ENROLMENT

    @property
    def is_officer(self) -> bool:
        """An officer: an officer API key (or a token exchanged from one), or an officer customer."""
        return self.role == OFFICER or self.officer


OPERATOR_IDENTITY = Identity(sub=OPERATOR, org="", role=OPERATOR, email=OPERATOR)
"""The caller of an `/operator` route once its operator token was checked (`core.auth.admit_operator`)."""


@dataclass(frozen=True)
class Actor:
    """Who did something the audit log records: `kind` (one of ACTOR_KINDS), a stable `id` (the API key's,
    member's or customer's id, `operator`, or `system`), a readable `label` (key name or e-mail), and the
    request it came from (`address`, `request_id`; None outside a request)."""

    kind: str
    id: str
    label: str = ""
    address: str | None = None
    request_id: str | None = None

    def as_dict(self) -> dict:
        """The actor as plain JSON data (`Actor(**data)` makes it again)."""
        return {"kind": self.kind, "id": self.id, "label": self.label, "address": self.address,
                "request_id": self.request_id}


SYSTEM_ACTOR = Actor(kind="system", id="system", label="system")
"""What did a change no caller asked for (a periodic job, a migration)."""


def actor_for(identity: Identity | None, address: str | None = None, request_id: str | None = None) -> Actor:
    """The actor `identity` is in the audit log: an API key (or a token exchanged from one) by the key's id and
    name, a member by id and e-mail, the operator, a customer by id and e-mail, another staff token by its
    subject; no identity is the system."""
    if identity is None:
        return Actor("system", "system", "system", address, request_id)
    sub = identity.sub
    if sub.startswith(API_KEY_SUB):
        kind, ident = "api_key", sub[len(API_KEY_SUB):]
    elif sub.startswith(MEMBER_SUB):
        kind, ident = "member", sub[len(MEMBER_SUB):]
    elif sub.startswith(DEVICE_SUB):
        kind, ident = "door_device", sub[len(DEVICE_SUB):]
    elif identity.role == OPERATOR:
        kind, ident = "operator", OPERATOR
    elif identity.role == "customer":
        kind, ident = "customer", sub
    else:
        kind, ident = "staff_token", sub
    return Actor(kind, ident, identity.email or sub, address, request_id)

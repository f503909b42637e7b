"""The door's admission rules, defined once as a table of named rules: who a scan admits and why it refuses.

Check-in, validate and session participation evaluate this table (in Python, and as the peewee condition of
the admitting UPDATE); `as_json()` hands the same table to offline door scanners. Never a rule elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from peewee import Case, Entity, Expression, Select, Value, fn

from core.db import is_sqlite
from core.models import Ticket, TicketType
from core.models.participation import ATTENDING
from core.services import qr, rotating_qr

ADMITTABLE = ("valid", "checked_in")  # a scan admits only a ticket in one of these states
NO_LIMIT = 2147483647  # the re-entry limit of a type that allows re-entry without a limit


@dataclass(frozen=True)
class DoorRule:
    """One named rule: the reason a refused scan answers and logs, its error `type`, status and message,
    and the parameters the rule is evaluated with."""

    name: str
    status: int
    type: str
    message: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict:
        """The rule as plain JSON data."""
        return {"name": self.name, "status": self.status, "type": self.type, "message": self.message,
                "params": {k: list(v) if isinstance(v, tuple) else v for k, v in self.params.items()}}


# What the scanned code itself must be; checked before the ticket rules.
CODE_RULES = (
    DoorRule("unknown", 422, "invalid_qr", "This code is not a ticket of this organisation.",
             {"lookup": "ticketId within the tenant",
              "poolCode": "a text without the signed prefix: the tenant's ticket that took that barcode pool code"}),
    DoorRule("forged", 422, "invalid_qr", "This ticket code's signature is not valid for this organisation.",
             {"signature": "Ed25519, the tenant's key", "eventHash": "sha256(ticket.eventId)[:8]",
              "liveCode": "a BO2 code whose 5 code bytes are not HMAC-SHA256(ticket key, step as uint32 BE)[:5], "
                          "the ticket key derived from the door secret of the event its signed part names; "
                          "checked before `stale_code`"}),
    DoorRule("stale_code", 409, "qr_expired",
             "This rotating code has expired (a screenshot or an old copy): ask the holder to open the live QR "
             "on their ticket page.",
             {"stepSeconds": rotating_qr.STEP_SECONDS, "maxAgeSeconds": rotating_qr.MAX_AGE_SECONDS,
              "maxAheadSeconds": rotating_qr.MAX_AHEAD_SECONDS, "format": rotating_qr.FORMAT_DOC}),
)

# The ticket rules, in the order a refusal is reported (the first broken rule is the reason).
TICKET_RULES = (
    DoorRule("wrong_event", 409, "wrong_event", "This ticket is for another event.",
             {"when": "the door names an event", "ticketField": "eventId"}),
    DoorRule("live_code_required", 409, "live_code_required",
             "This ticket shows a rotating QR: scan the live code on the holder's ticket page, not a printed or "
             "saved copy.",
             {"typeField": "rotatingQr"}),
    DoorRule("revoked", 409, "ticket_revoked", "This ticket was cancelled, refunded or transferred; its QR is void.",
             {"statuses": ("cancelled", "refunded", "transferred", "refunding"),
              "secretVersion": "a QR's must equal the ticket's"}),
    DoorRule("not_activated", 409, "not_activated", "This ticket has not been activated yet.",
             {"statuses": ("pending_activation",)}),
    DoorRule("scan_point_not_accepted", 409, "scan_point_not_accepted",
             "This ticket is not accepted at this scan point.",
             {"typeField": "acceptedScanPoints", "empty": "every scan point",
              "unnamedPointRefusedBy": ("check_in",),
              "unnamedPoint": "a door that names no scan point is refused at check-in; validate does not refuse "
                              "and answers the type's acceptedScanPoints"}),
    DoorRule("already_used", 409, "already_checked_in", "This ticket has already been checked in.",
             {"limitWithoutReentry": 1, "limitWithReentry": "reentryLimit", "noLimit": None,
              "counts": "ticket scans; a session's scans at a session"}),
)

# A parent event's ticket (a pass) scanned at one of its sessions: the holder must attend that session, unless
# the ticket's type is a 003 pass (`admitsEverySession`), which is admitted at every session of its parent.
# Either way the `already_used` limit counts the entries at that session alone.
SESSION_RULE = DoorRule("not_registered_for_session", 409, "not_registered_for_session",
                        "This pass holder has not chosen this session (or accepted an invitation to it).",
                        {"participationStatuses": ATTENDING, "exemptWhenTypeField": "admitsEverySession",
                         "counts": "the holder's participation's scans; a 003 pass's scans at that session"})

RULES: dict[str, DoorRule] = {rule.name: rule for rule in (*CODE_RULES, *TICKET_RULES, SESSION_RULE)}


def as_json() -> dict:
    """The whole table as JSON data, for a door device that runs the same rules offline."""
    return {"admittableStatuses": list(ADMITTABLE), "code": [r.as_dict() for r in CODE_RULES],
            "ticket": [r.as_dict() for r in TICKET_RULES], "session": SESSION_RULE.as_dict()}


@dataclass(frozen=True)
class Door:
    """What a scan asks: the event and scan point the door names (if any), and the QR's claims (None when the
    ticket was looked up by id), and its `purpose`: `check_in` (admits) or `validate` (only asks). In a statement
    template the values may be placeholders."""

    event_id: Any = None
    scan_point: Any = None
    claims: qr.QrClaims | None = None
    secret_version: Any = None  # the version a QR carries; set from `claims` when not given
    purpose: str = "check_in"
    static_code: bool = False  # a code that never changes was scanned (BO1, a pool code); set from `claims`

    def __post_init__(self):
        if self.secret_version is None and self.claims is not None:
            object.__setattr__(self, "secret_version", self.claims.secret_version)
        if self.claims is not None and not self.claims.live:
            object.__setattr__(self, "static_code", True)

    def at_event(self, event_id) -> Door:
        """The same scan for another event (None: any event)."""
        return Door(event_id, self.scan_point, self.claims, self.secret_version, self.purpose, self.static_code)


def needs_session_choice(ticket_type: TicketType) -> bool:
    """Whether a parent event's ticket scanned at a session must have chosen it (`SESSION_RULE`): every one but
    a 003 pass (`is_pass` and `admits_every_session`), which covers every session without a choice."""
    return not (ticket_type.is_pass and ticket_type.admits_every_session)


def scan_limit(ticket_type: TicketType) -> int | None:
    """Admissions allowed by the `already_used` rule: 1 without re-entry, else `reentry_limit` (None =
    unlimited)."""
    params = RULES["already_used"].params
    return ticket_type.reentry_limit if ticket_type.allow_reentry else params["limitWithoutReentry"]


# --- the rules in Python ---------------------------------------------------------------------------------

def _breaks_revoked(ticket: Ticket, door: Door, params: Mapping) -> bool:
    return ticket.status in params["statuses"] or (
        door.secret_version is not None and door.secret_version != ticket.secret_version)


def _breaks_limit(ticket: Ticket, door: Door, params: Mapping, scans: int | None) -> bool:
    limit = scan_limit(ticket.ticket_type)
    return limit is not None and (ticket.scan_count if scans is None else scans) >= limit


def _breaks_scan_point(ticket: Ticket, door: Door, params: Mapping) -> bool:
    points = ticket.ticket_type.accepted_scan_points
    if not points or door.scan_point in points:
        return False
    return door.scan_point is not None or door.purpose in params["unnamedPointRefusedBy"]


def _breaks_live_code(ticket: Ticket, door: Door, params: Mapping) -> bool:
    """A rotating type's ticket scanned by a code that never changes; a typed ticket id (no code) is staff's
    manual override and keeps the rule."""
    return door.static_code and bool(getattr(ticket.ticket_type, _TYPE_FIELDS[params["typeField"]]))


_TYPE_FIELDS = {"rotatingQr": "rotating_qr"}  # a rule's `typeField` (API name) -> the ticket type's column

_BROKEN: dict[str, Callable[[Ticket, Door, Mapping, int | None], bool]] = {
    "wrong_event": lambda t, door, p, scans: bool(door.event_id) and t.event_id != door.event_id,
    "live_code_required": lambda t, door, p, scans: _breaks_live_code(t, door, p),
    "revoked": lambda t, door, p, scans: _breaks_revoked(t, door, p),
    "not_activated": lambda t, door, p, scans: t.status in p["statuses"],
    "scan_point_not_accepted": lambda t, door, p, scans: _breaks_scan_point(t, door, p),
    "already_used": _breaks_limit,
}


def refusal(ticket: Ticket, door: Door, *, scans: int | None = None, skip: tuple[str, ...] = ()) -> str | None:
    """The first ticket rule `ticket` (with its type loaded) breaks for this scan, or None when it is admitted.

    `scans` counts admissions for `already_used` instead of the ticket's own count (a session's); rules named
    in `skip` are not applied.
    """
    for rule in TICKET_RULES:
        if rule.name not in skip and _BROKEN[rule.name](ticket, door, rule.params, scans):
            return rule.name
    return None


def is_forged(ticket: Ticket, door: Door) -> bool:
    """True when the QR was signed for another event than the ticket's (the `forged` code rule)."""
    return door.claims is not None and not door.claims.matches_event(ticket.event_id)


# --- the same rules as peewee conditions on a ticket row joined to its type -------------------------------

def _listed(column, item):
    """`item` is an element of the JSON list in `column`."""
    if is_sqlite():
        return fn.EXISTS(Select([fn.json_each(column)], [Value(1)]).where(Entity("value") == item))
    return fn.jsonb_exists(column.cast("jsonb"), item)


def _accepts_point(column, door: Door, params: Mapping):
    """The JSON list in `column` is empty (every point) or lists the door's scan point (or the door names none
    and its purpose does not refuse that)."""
    if door.scan_point is None and door.purpose not in params["unnamedPointRefusedBy"]:
        return None
    empty = column.is_null() | (column == Value([], converter=column.db_value, unpack=False))
    return empty if door.scan_point is None else empty | _listed(column, door.scan_point)


def _not_revoked(door: Door, params: Mapping):
    live = Ticket.status.not_in(params["statuses"])
    return live if door.secret_version is None else live & (Ticket.secret_version == door.secret_version)


def _limit_of_type():
    params = RULES["already_used"].params
    return Case(None, [(TicketType.allow_reentry, fn.COALESCE(TicketType.reentry_limit, NO_LIMIT))],
                params["limitWithoutReentry"])


_HOLDS: dict[str, Callable[[Door, Mapping], Expression | None]] = {
    "wrong_event": lambda door, p: (Ticket.event == door.event_id) if door.event_id else None,
    "live_code_required": lambda door, p: (
        getattr(TicketType, _TYPE_FIELDS[p["typeField"]]) == Value(False)) if door.static_code else None,
    "revoked": lambda door, p: _not_revoked(door, p),
    "not_activated": lambda door, p: Ticket.status.not_in(p["statuses"]),
    "scan_point_not_accepted": lambda door, p: _accepts_point(TicketType.accepted_scan_points, door, p),
    "already_used": lambda door, p: Ticket.scan_count < _limit_of_type(),
}


def rule_conditions(door: Door, *, skip: tuple[str, ...] = ()) -> list[tuple[str, Expression]]:
    """(rule name, the condition under which the ticket row keeps the rule), in `TICKET_RULES` order, for a
    query over `Ticket` joined to `TicketType`; rules that do not apply to this scan are left out."""
    found = []
    for rule in TICKET_RULES:
        condition = None if rule.name in skip else _HOLDS[rule.name](door, rule.params)
        if condition is not None:
            found.append((rule.name, condition))
    return found


def admission_condition(door: Door, *, skip: tuple[str, ...] = ()) -> Expression:
    """The WHERE that admits: an admittable ticket that keeps every rule. The database re-checks it on the row
    it locks, so concurrent scans admit a ticket at most its limit."""
    condition = Ticket.status.in_(ADMITTABLE)
    for _, holds in rule_conditions(door, skip=skip):
        condition &= holds
    return condition


def refusal_case(door: Door, *, forged: Expression | None = None) -> Case:
    """The reason a ticket row is refused, as SQL: the first rule it breaks (`forged` first, when the code's
    event binding is checked in the query), NULL when it breaks none."""
    cases = [(~forged, "forged")] if forged is not None else []
    cases += [(~holds, name) for name, holds in rule_conditions(door)]
    return Case(None, cases, None)

"""The audit log's writing side: `record` writes one row for a staff action that changed money, seats or access,
inside that action's own write transaction, naming who did it (the current actor) and what changed.

Never updates or deletes a row, never records a secret (values under secret-looking keys are redacted), never
writes outside a transaction (a failed or rolled-back action leaves no row), and knows nothing of Flask: the
caller of a request is learnt from the actor source the app installs (`core.auth.request_actor`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import re
from collections.abc import Callable, Collection, Iterator, Mapping
from contextvars import ContextVar
from typing import Any

from core import outbox
from core.db import db
from core.identity import SYSTEM_ACTOR, Actor
from core.models import AuditEntry, Org, new_id, utcnow
from core.timefmt import iso_utc

ACTIONS: dict[str, str] = {
    "refund.issued": "Money paid back on a booking (a ticket or booking refund, or each refund of a bulk "
                     "refund): through the gateway or as store credit; record: the refund",
    "refund.paid_out": "An owed refund recorded as paid out by hand; record: the refund",
    "ticket.cancelled": "A ticket voided without refund (its seat back on sale); record: the ticket",
    "booking.cancelled": "A booking cancelled (a hold released, or every live ticket voided); record: the booking",
    "tickets.comped": "Free tickets issued by staff (a comp); record: the comp's booking",
    "tickets.pre_generated": "A batch of unactivated door tickets issued (seats taken); record: the ticket type",
    "booking.marked_paid": "An offline payment recorded by staff and the booking confirmed; record: the booking",
    "ticket.activated": "A pre-generated ticket sold and activated at the door; record: the ticket",
    "ticket.transferred": "A ticket revoked and reissued to someone else; record: the old ticket",
    "ticket.claim_link_reissued": "A transferred ticket's claim link replaced (the old one stops working); "
                                  "record: the recipient's ticket",
    "check_in.undone": "A check-in reversed (the ticket valid again); record: the ticket",
    "door_device.created": "A door device set up for an event by a signed-in member; record: the device",
    "door_device.revoked": "A door device's credential revoked (its token refused at once); record: the device",
    "ticket_type.changed": "A ticket type's capacity or prices changed; record: the ticket type",
    "event.capacity_changed": "An event's capacity changed; record: the event",
    "waiting_room.set": "An event's on-sale waiting room switched on or changed (start, rate, pass minutes); "
                        "record: the event",
    "waiting_room.removed": "An event's on-sale waiting room switched off; record: the event",
    "plugin.enabled": "A plugin enabled for the tenant; record: the plugin",
    "plugin.disabled": "A plugin disabled for the tenant; record: the plugin",
    "plugin.settings_changed": "A plugin's settings changed (secret values shown only as changed); record: the "
                               "plugin",
    "api_key.issued": "An API key issued; record: the key",
    "api_key.changed": "An API key's name, role or scopes changed; record: the key",
    "api_key.revoked": "An API key revoked; record: the key",
    "org.settings_changed": "The organisation's settings changed; record: the organisation",
    "org.domain_added": "A hostname the tenant is served at added; record: the hostname",
    "org.domain_removed": "A hostname the tenant is served at removed; record: the hostname",
    "store_credit.granted": "Store credit granted to a customer (by a store-credit refund); record: the credit",
    "customer.officer_granted": "A customer made an officer; record: the customer",
    "customer.officer_revoked": "A customer's officer role taken away; record: the customer",
    "member.invited": "Someone invited to become a staff member with a role; record: the invitation",
    "member.invite_revoked": "A pending staff invitation revoked; record: the invitation",
    "member.joined": "A staff invitation accepted: the person is a member with its role; record: the member",
    "member.role_changed": "A staff member's role changed; record: the member",
    "member.removed": "A staff member taken out of the organisation; record: the member",
}
"""The core's audit actions: the fixed list every row's `action` comes from (plugins add theirs with the
`register_audit_actions` hook)."""

ACTION_NAME = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")
SECRET_WORDS = ("password", "secret", "token", "hash", "digest", "private", "credential", "otp")
REDACTED = "[redacted]"
CHANGED_SECRET = "[changed]"
"""What a secret setting's value is recorded as (its old and new values are never stored)."""

_plugin_actions: dict[str, str] = {}
_actor: ContextVar[dict | None] = ContextVar("audit_actor", default=None)
outbox.carry(_actor)  # a job recorded while an actor is pinned (a bulk refund) acts as that actor
_source: list[Callable[[], Actor | None]] = []


class NotInTransaction(RuntimeError):
    """`record` was called outside a write transaction: the row must commit or roll back with its change."""


def register_actions(actions: Mapping[str, str]) -> None:
    """Add a plugin's audit actions (`{"giftcard.voided": "what it means"}`) to the fixed list; a name is
    `<record>.<what happened>` in lower case and may not replace a core action."""
    for name, description in actions.items():
        if not ACTION_NAME.match(name) or name in ACTIONS:
            raise ValueError(f"Audit action {name!r} must be a new `<record>.<event>` name in lower case.")
        _plugin_actions[name] = str(description)


def actions() -> dict[str, str]:
    """Every audit action with its description: the core's, then the plugins'."""
    return {**ACTIONS, **_plugin_actions}


def use_actor_source(source: Callable[[], Actor | None]) -> None:
    """Install where the current request's actor comes from (the app installs `core.auth.request_actor`); it
    answers None outside a request."""
    _source[:] = [source]


def current_actor() -> Actor:
    """Who is acting now: the actor pinned with `acting_as` (a CLI command, a job a request queued), else the
    current request's (through the installed source), else the system."""
    pinned = _actor.get()
    if pinned is not None:
        return Actor(**pinned)
    for source in _source:
        actor = source()
        if actor is not None:
            return actor
    return SYSTEM_ACTOR


@contextlib.contextmanager
def acting_as(actor: Actor) -> Iterator[Actor]:
    """Inside the block, `current_actor()` is `actor`, and every outbox entry recorded (a job queued) keeps it
    for when it runs."""
    token = _actor.set(actor.as_dict())
    try:
        yield actor
    finally:
        _actor.reset(token)


def pinned_actor() -> contextlib.AbstractContextManager[Actor]:
    """`acting_as(current_actor())`: keep this request's actor for the jobs queued inside the block."""
    return acting_as(current_actor())


def _plain(value: Any) -> Any:
    """`value` as JSON data: times in ISO 8601 UTC, decimals as text, sets as sorted lists."""
    if isinstance(value, dt.datetime):
        return iso_utc(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (set, frozenset)):
        return sorted(_plain(v) for v in value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): REDACTED if is_secret(str(k)) and v is not None and v != CHANGED_SECRET else _plain(v)
                for k, v in value.items()}
    return value


def is_secret(name: str) -> bool:
    """True for a field name that may hold a secret (its value is never recorded)."""
    lowered = name.lower()
    return any(word in lowered for word in SECRET_WORDS)


def changes(before: Mapping[str, Any], after: Mapping[str, Any],
            secret: Collection[str] = ()) -> tuple[dict, dict]:
    """Only the fields whose value differs between `before` and `after` (as JSON data), as (before, after); a
    field missing on one side is None there. A field named in `secret`, or whose name looks secret, shows only
    `[changed]` (None when absent), never its value."""
    old, new = {}, {}
    for name in dict.fromkeys([*before, *after]):
        was, now = _plain(before.get(name)), _plain(after.get(name))
        if was == now:
            continue
        hidden = name in secret or is_secret(name)
        old[name] = CHANGED_SECRET if hidden and was is not None else was
        new[name] = CHANGED_SECRET if hidden and now is not None else now
    return old, new


def record(org: Org | str, action: str, record_type: str, record_id: str, *, before: Mapping | None = None,
           after: Mapping | None = None, actor: Actor | None = None) -> None:
    """Write one audit row inside the current write transaction (it commits or rolls back with the change):
    `action` (one of `actions()`) done to `record_type`/`record_id`, with `before` and `after` (the changed
    fields; secret-looking keys redacted) by `actor` (default: `current_actor()`). Call it right after the
    change won (the conditional UPDATE's row count), so a refused, replayed or lost action writes none."""
    if action not in ACTIONS and action not in _plugin_actions:
        raise ValueError(f"{action!r} is not an audit action; declare it with `register_audit_actions`.")
    if not db.in_transaction():
        raise NotInTransaction("audit.record runs inside the write transaction of the change it records.")
    who = actor or current_actor()
    AuditEntry.insert(
        id=new_id(), org=org if isinstance(org, str) else org.id, created_at=utcnow(), actor_kind=who.kind,
        actor_id=str(who.id)[:200], actor_label=str(who.label or "")[:254], action=action,
        record_type=record_type[:32], record_id=str(record_id)[:255],
        before=None if before is None else _plain(before), after=None if after is None else _plain(after),
        address=(who.address or None) and who.address[:64], request_id=who.request_id,
    ).execute()

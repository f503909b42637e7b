"""The rotating QR (a ticket type's `rotating_qr`): the event's door secret, each ticket's key, the code of each
15-second step, the live `BO2:` text, and the door's check of a scanned live code.

The door secret is made once per event (32 random bytes, sealed at rest, `core.sealed`) and kept per process;
it never leaves the server except to door devices. A ticket page gets only its ticket's key, derived from it.
Never decides admission beyond the code itself: the ticket rules are `core.services.door_rules`.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import logging
import secrets
import struct
from dataclasses import dataclass

from core import clock
from core.db import write_transaction
from core.memo import BoundedMemo
from core.models import Event, Org, Ticket
from core.sealed import seal, unseal
from core.services import qr

STEP_SECONDS = 15  # a code is shown for one step
MAX_AGE_SECONDS = 60  # a door refuses a code whose step began longer ago than this (`stale_code`)
MAX_AHEAD_SECONDS = 15  # ... or whose step begins later than this from now (one step of clock skew)
SECRET_BYTES = 32
CODE_BYTES = 5
TICKET_KEY_LABEL = b"boxoffice-rotating-qr:"
_STEP = struct.Struct(">I")
_EPOCH = dt.datetime(1970, 1, 1)

FORMAT_DOC = (
    "ticket key = HMAC-SHA256(key=event door secret, msg='boxoffice-rotating-qr:' + ticket id as ASCII); step = "
    "floor(unix seconds / 15); code = HMAC-SHA256(key=ticket key, msg=step as uint32 big-endian)[:5]; QR text = "
    "'BO2:' + base45(the 91 signed bytes of the ticket's BO1 payload | step (uint32 BE) | code (5 bytes)) (150 "
    "characters after the prefix); the signed part verifies exactly like BO1; a door accepts now - step*15 <= 60 "
    "and step*15 - now <= 15 (seconds; a wrong code is `forged`, checked first)"
)

_SECRETS = BoundedMemo(16384)  # (org id, event id) -> the event's door secret: made once, never changed
_log = logging.getLogger(__name__)


# --- the code: pure functions of the key and the time (the JS module plugins/pages/static/door/rotating-code.js
# computes the same; tests/test_rotating_qr.py holds both to the same vectors) ----------------------------------

def ticket_key(door_secret: bytes, ticket_id: str) -> bytes:
    """The ticket's own key: HMAC-SHA256(door secret, 'boxoffice-rotating-qr:' + ticket id)."""
    return hmac.new(door_secret, TICKET_KEY_LABEL + ticket_id.encode("ascii"), hashlib.sha256).digest()


def step_at(unix_seconds: float) -> int:
    """The 15-second step a moment falls in."""
    return int(unix_seconds // STEP_SECONDS)


def code_for(key: bytes, step: int) -> bytes:
    """The 5-byte code of one step under a ticket key."""
    return hmac.new(key, _STEP.pack(step), hashlib.sha256).digest()[:CODE_BYTES]


def unix_now() -> float:
    """Now (the deployment's clock, `core.clock`, which tests move) in unix seconds."""
    return (clock.now() - _EPOCH).total_seconds()


def fresh(step: int, now: float) -> bool:
    """Whether a door accepts a code of `step` at `now` (unix seconds): begun at most 60 s ago, at most 15 s
    ahead."""
    begins = step * STEP_SECONDS
    return now - begins <= MAX_AGE_SECONDS and begins - now <= MAX_AHEAD_SECONDS


def expires_at(step: int) -> dt.datetime:
    """When the page stops showing the code of `step` (naive UTC): the start of the next step."""
    return _EPOCH + dt.timedelta(seconds=(step + 1) * STEP_SECONDS)


# --- the event's door secret ------------------------------------------------------------------------------

def _org_id(org: Org | str) -> str:
    return org if isinstance(org, str) else org.id


def _stored(org_id: str, event_id: str) -> str | None:
    row = Event.select(Event.door_secret).where((Event.id == event_id) & (Event.org == org_id)).first()
    return row.door_secret if row else None


def _opened(sealed: str | None) -> bytes | None:
    plain = unseal(sealed) if sealed else None
    return base64.b64decode(plain) if plain else None


def _create(org_id: str, event_id: str, replacing: str | None) -> bytes | None:
    """Store a new secret unless another process stored one first (conditional UPDATE); the winner's."""
    fresh_secret = seal(base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode())
    kept = Event.door_secret.is_null() if replacing is None else (Event.door_secret == replacing)
    with write_transaction():
        Event.update(door_secret=fresh_secret).where(
            (Event.id == event_id) & (Event.org == org_id) & kept).execute()
        return _opened(_stored(org_id, event_id))


def door_secret(org: Org | str, event_id: str, *, create: bool = True) -> bytes | None:
    """The event's door secret (32 bytes), made on first use (`create`) and kept per process: a scan pays no
    statement for it once this process read it. None for an event the tenant does not have, or (without
    `create`) one that has none yet. A secret sealed under an earlier deployment key no longer opens; it is
    replaced (the live codes of that event change; door devices must download it again)."""
    org_id = _org_id(org)
    key = (org_id, event_id)
    known = _SECRETS.get(key)
    if known is not None:
        return known
    sealed = _stored(org_id, event_id) if isinstance(event_id, str) and len(event_id) <= 64 else None
    secret = _opened(sealed)
    if secret is None and create and Event.select(Event.id).where(
            (Event.id == event_id) & (Event.org == org_id)).exists():
        if sealed is not None:
            _log.warning("door secret of event %s does not open under this deployment key: replaced", event_id)
        secret = _create(org_id, event_id, sealed)
    if secret is not None:
        _SECRETS.put(key, secret)
    return secret


def key_of_ticket(org: Org, ticket: Ticket) -> bytes:
    """The ticket's key under its event's door secret (what its page computes codes with)."""
    return ticket_key(door_secret(org, ticket.event_id), ticket.id)


# --- the live code --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LiveCode:
    """A ticket's code of one step: the QR text and until when the page shows it."""

    text: str
    step: int
    expires_at: dt.datetime


def live_code(org: Org, ticket: Ticket, now: float | None = None) -> LiveCode:
    """The ticket's current live code (`BO2:` text of this step) and its expiry."""
    step = step_at(unix_now() if now is None else now)
    text = qr.live_text(qr.signed_bytes_for(org, ticket), step, code_for(key_of_ticket(org, ticket), step))
    return LiveCode(text, step, expires_at(step))


def is_rotating(ticket: Ticket) -> bool:
    """Whether the ticket's type shows a rotating QR (its static code is refused at the door)."""
    return bool(ticket.ticket_type.rotating_qr)


@dataclass(frozen=True)
class TicketQr:
    """A ticket's QR image now: the PNG, and for a rotating ticket when its code expires (None: it does not)."""

    png: bytes
    expires_at: dt.datetime | None = None


def ticket_qr(org: Org, ticket: Ticket) -> TicketQr:
    """The QR a ticket shows now: a rotating ticket's current live code (with its expiry), else its static
    code (`qr.png_for`: the signed payload or its barcode pool code)."""
    if not is_rotating(ticket):
        return TicketQr(qr.png_for(org, ticket))
    live = live_code(org, ticket)
    return TicketQr(qr.render_png(live.text), live.expires_at)


def check_live_code(org: Org | str, claims: qr.QrClaims, event_ids: tuple[str, ...],
                    now: float | None = None) -> str | None:
    """The code rule a scanned live code breaks, or None when it is good: `forged` when its code is not the
    ticket's code of its step under the door secret of any of `event_ids` (the tenant's events its signed
    part names), else `stale_code` when that step is too old (or too far ahead) now. A static claim (`BO1:`)
    breaks none here."""
    if not claims.live:
        return None
    matches = False
    for event_id in event_ids:
        secret = door_secret(org, event_id, create=False)
        if secret is not None and hmac.compare_digest(
                code_for(ticket_key(secret, claims.ticket_id), claims.step), claims.code):
            matches = True
    if not matches:
        return "forged"
    return None if fresh(claims.step, unix_now() if now is None else now) else "stale_code"

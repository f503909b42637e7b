"""Queue passes: the signed, short-lived pass an admitted buyer of a waiting room gets, and the purchase gate
that wants one (`admission`, called by the booking service for every customer purchase of an event).

A pass carries the tenant, event, room, queue entry and expiry, signed with the deployment's secret (purpose
`queue-pass`); it buys once (`spend` commits with the booking). Never reads Flask state, never queries the
database for an event without a room.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import ApiError
from core.kits.links import read_signed_link_token, signed_link_token
from core.models import Booking, Event, Org, QueuePassUse, utcnow

PURPOSE = "queue-pass"
SIGNED_MAX_AGE_SECONDS = 24 * 3600   # a signature older than this is refused whatever its expiry says
MAX_PASSES_SENT = 10                 # one per waiting-room event of a several-showing checkout


class QueuePassRequired(ApiError):
    """403 `queue_pass_required`: the event's waiting room is on and the purchase sent no pass."""

    status, type = 403, "queue_pass_required"


class QueuePassInvalid(ApiError):
    """403 `queue_pass_invalid`: the pass sent is not one for this event's room (`reason: not_valid`), has
    expired (`expired`) or has already bought once (`used`)."""

    status, type = 403, "queue_pass_invalid"


@dataclass(frozen=True)
class Admission:
    """A valid pass for an event's purchase: the queue entry it admitted and when it expires (epoch seconds)."""

    entry_id: str
    event_id: str
    expires_at: float


def issue_pass(org_id: str, event_id: str, room_id: str, entry_id: str, expires_at: float) -> str:
    """The pass of an admitted queue entry, valid until `expires_at` (seconds since the epoch)."""
    return signed_link_token(PURPOSE, {"o": org_id, "e": event_id, "r": room_id, "q": entry_id,
                                       "x": int(expires_at)})


def _admission(data: dict | None, org: Org, event: Event) -> Admission | None:
    """The admission a read pass gives for this event's current room, or None when it is for anything else."""
    if not data or data.get("o") != org.id or data.get("e") != event.id or data.get("r") != event.waiting_room_id:
        return None
    if not isinstance(data.get("q"), str) or not isinstance(data.get("x"), int):
        return None
    return Admission(data["q"], event.id, float(data["x"]))


def admission(org: Org, event: Event, sent: str | None, now: float) -> Admission | None:
    """None when the event has no waiting room on (read from the event row, no query); else the valid pass
    for it among `sent` (the `Queue-Pass` header: one pass, or several separated by commas), or 403
    `queue_pass_required` (none sent) / `queue_pass_invalid` (forged, another event's or room's, expired)."""
    if not event.waiting_room_id:
        return None
    tokens = [token.strip() for token in (sent or "").split(",") if token.strip()][:MAX_PASSES_SENT]
    if not tokens:
        raise QueuePassRequired("This event's waiting room is on: join the queue (POST /client/events/"
                                f"{event.id}/queue) and send the pass you get once admitted as `Queue-Pass`.")
    expired = False
    for token in tokens:
        found = _admission(read_signed_link_token(PURPOSE, token[:2048], SIGNED_MAX_AGE_SECONDS), org, event)
        if found is not None and found.expires_at > now:
            return found
        expired = expired or found is not None
    if expired:
        raise QueuePassInvalid("Your queue pass has expired; join the queue again.", reason="expired")
    raise QueuePassInvalid("The queue pass is not valid for this event.", reason="not_valid")


def spend(org: Org, admitted: Admission, booking: Booking) -> None:
    """Record that the pass bought `booking`, inside the booking's write transaction (a `Quote.when_booked`
    callback): a pass that bought before is 403 `queue_pass_invalid` (`reason: used`) and nothing is held."""
    now = utcnow()
    inserted = QueuePassUse.insert(id=admitted.entry_id, org=org.id, event_id=admitted.event_id,
                                   booking_id=booking.id, created_at=now, updated_at=now) \
        .on_conflict_ignore().as_rowcount().execute()
    if not inserted:
        raise QueuePassInvalid("This queue pass has already been used for a purchase; join the queue again.",
                               reason="used")

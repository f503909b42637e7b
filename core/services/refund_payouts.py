"""Refunds owed by hand: staff list refunds and record that money a provider could not move was paid out.

Only flips an `owed` refund to `paid_out` (once; a repeat answers the same record); never moves money,
never touches tickets or seats (those were settled when the refund was recorded). Knows nothing of HTTP.
"""

from __future__ import annotations

from core.db import write_transaction
from core.errors import Conflict
from core.models import Org, Refund, utcnow
from core.pagination import Page, SortKey, paginate_cursor
from core.services import audit
from core.tenancy import get_scoped, scoped
from core.timefmt import iso_utc

OWED = "owed"
PAID_OUT = "paid_out"
STATUSES = ("pending", "succeeded", "owed", "paid_out", "failed")
REFUND_KEYS = (SortKey("created", Refund.created_at, "datetime", attr="created_at"), SortKey("id", Refund.id))


def list_refunds(org: Org, *, status: str | None, size: int, cursor: str | None) -> Page:
    """A page of the tenant's refunds, oldest first, optionally of one `status` (e.g. `owed`: still to pay out)."""
    query = scoped(Refund, org)
    if status:
        query = query.where(Refund.status == status)
    return paginate_cursor(query, REFUND_KEYS, size, cursor)


def mark_paid_out(org: Org, refund_id: str, reference: str | None = None) -> Refund:
    """Record that the owed refund `refund_id` was paid out (optional payout `reference`, e.g. a transfer id).

    Idempotent: a refund already paid out is returned unchanged. 404 for another tenant's or no refund;
    409 `refund_not_owed` for a refund a provider settled itself (or that failed).
    """
    refund = get_scoped(Refund, org, refund_id, "refund")
    with write_transaction():
        data = {**(refund.data or {}), "paidOutAt": iso_utc(utcnow())}
        changes = {"status": PAID_OUT, "data": data, "updated_at": utcnow()}
        if reference:
            changes["reference"] = reference
        won = (Refund.update(**changes)
               .where((Refund.id == refund.id) & (Refund.org == org.id) & (Refund.status == OWED)).execute())
        if won == 1:
            audit.record(org, "refund.paid_out", "refund", refund.id, before={"status": OWED},
                         after={"status": PAID_OUT, "reference": reference})
    refund = refund.reread()
    if refund.status != PAID_OUT:
        raise Conflict(f"This refund is {refund.status}; only an owed refund is paid out by hand.",
                       type="refund_not_owed", refundStatus=refund.status)
    return refund

"""Bulk refund or cancel of an event's tickets (003 `PATCH /events/:id/refund`) as a `refund` sync job.

Never moves money or voids a ticket itself: every change goes through `core.services.cancellation`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from contextvars import ContextVar

from core import outbox
from core.db import write_transaction
from core.errors import ApiError, Unprocessable
from core.jobs import job
from core.models import Event, Org, SyncJob, Ticket
from core.plugins import hooks_for
from core.services import cancellation, sync_jobs
from core.tenancy import get_scoped, scoped

log = logging.getLogger(__name__)

KIND = "refund"
METHODS = ("original", "store_credit", "none")
SUPPORTED_METHODS = ("original", "none")
ALREADY_VOID = ("already_refunded", "already_cancelled")
MAX_FAILURES_LISTED = 200

_emails_muted: ContextVar[bool] = ContextVar("bulk_refund_emails_muted", default=False)
outbox.carry(_emails_muted)  # the per-ticket hooks a muted job records run muted too


def customer_emails_muted() -> bool:
    """True while a bulk job runs with `notify_customer: false`: per-ticket customer emails are skipped."""
    return _emails_muted.get()


@contextlib.contextmanager
def _muted(mute: bool) -> Iterator[None]:
    token = _emails_muted.set(mute)
    try:
        yield
    finally:
        _emails_muted.reset(token)


def _scope(org: Org, event: Event, date_ids: list[str] | None) -> list[str]:
    """The event ids to work on: the event and all its sessions/dates, or only the `date_ids` asked for."""
    children = [row.id for row in scoped(Event, org, Event.id).where(Event.parent == event.id)]
    if date_ids is None:
        return [event.id, *children]
    unknown = sorted({str(i) for i in date_ids} - set(children))
    if unknown or not date_ids:
        raise Unprocessable("`date_ids` must be a non-empty list of this event's session or date ids.",
                            type="invalid_date_ids", errors={"date_ids": unknown or ["empty"]})
    return sorted({str(i) for i in date_ids})


def start_bulk_refund(org: Org, event_id: str, *, refund_method: str = "original",
                      date_ids: list[str] | None = None, refund_checked_in: bool = False,
                      void_tickets: bool = True, notify_customer: bool = True, note: str = "") -> SyncJob:
    """Validate, mark the event syncing and queue the `refund` job; returns the job (run inline in tests).

    422 `unsupported_refund_method` (store_credit), `unsupported_option` (void_tickets false: a refunded
    or cancelled ticket is always void), `invalid_date_ids`; 409 `uneditable` while another job runs.
    """
    event = get_scoped(Event, org, event_id, "event")
    if refund_method not in SUPPORTED_METHODS:
        raise Unprocessable(f"refund_method {refund_method!r} is not supported; use original or none.",
                            type="unsupported_refund_method", errors={"refund_method": [refund_method]})
    if not void_tickets:
        raise Unprocessable("Refunded and cancelled tickets are always void; void_tickets cannot be false.",
                            type="unsupported_option", errors={"void_tickets": ["must be true"]})
    event_ids = _scope(org, event, date_ids)
    params = {"refund_method": refund_method, "event_ids": event_ids, "date_ids": date_ids,
              "refund_checked_in": refund_checked_in, "notify_customer": notify_customer, "note": note}
    with write_transaction():
        sync_jobs.claim_event(org.id, event.id, syncing_after=True)
        job_row = sync_jobs.record_job(org, event, KIND)
        SyncJob.update(params=params).where(SyncJob.id == job_row.id).execute()
        outbox.enqueue(run_bulk_refund, org.id, job_row.id)
    return SyncJob.get_by_id(job_row.id)


class _Tally:
    """The job's running counts, saved as its `result`."""

    def __init__(self, method: str, reason: str = ""):
        self.method = method
        self.reason = reason  # the job's `note`, kept as each Refund's reason
        self.counts = {"refunded": 0, "cancelled": 0, "skipped_checked_in": 0, "skipped_already": 0,
                       "failed": 0, "bookings_refunded": 0, "refunded_amount": 0, "failures": []}

    def fail(self, tickets: list[Ticket], booking_id: str | None, error: ApiError) -> None:
        """Record a refusal (or count a ticket someone else voided meanwhile as skipped)."""
        if error.type in ALREADY_VOID:
            self.counts["skipped_already"] += len(tickets)
            return
        self.counts["failed"] += len(tickets)
        if len(self.counts["failures"]) < MAX_FAILURES_LISTED:
            self.counts["failures"].append({"booking_id": booking_id, "ticket_ids": [t.id for t in tickets],
                                            "type": error.type, "reason": error.message[:500]})

    def refunded(self, outcome: cancellation.RefundOutcome, whole: bool) -> None:
        self.counts["refunded"] += len(outcome.tickets)
        self.counts["refunded_amount"] += outcome.refund.amount
        self.counts["bookings_refunded"] += int(whole)


def _attempt(tally: _Tally, tickets: list[Ticket], booking_id: str | None, action) -> None:
    """Run one cancellation call; a refusal is recorded and the job goes on."""
    try:
        action()
    except ApiError as error:
        tally.fail(tickets, booking_id, error)


def _cancel(org: Org, tally: _Tally, tickets: list[Ticket], booking_id: str | None, whole: bool) -> None:
    """Void without money: the whole booking at once when it is all in scope, else ticket by ticket."""
    if whole:
        def cancel_all():
            cancellation.cancel_booking(org, booking_id)
            tally.counts["cancelled"] += len(tickets)
        _attempt(tally, tickets, booking_id, cancel_all)
        return
    for ticket in tickets:
        def cancel_one(ticket=ticket):
            cancellation.cancel_ticket(org, ticket.id)
            tally.counts["cancelled"] += 1
        _attempt(tally, [ticket], booking_id, cancel_one)


def _refund(org: Org, tally: _Tally, tickets: list[Ticket], booking_id: str | None, whole: bool) -> None:
    """Money back through the booking's gateway; tickets with nothing to refund through are cancelled."""
    refundable = [t for t in tickets if booking_id and t.status in cancellation.REFUNDABLE]
    rest = [t for t in tickets if t not in refundable]
    if whole and refundable:
        _attempt(tally, refundable, booking_id,
                 lambda: tally.refunded(cancellation.refund_booking(org, booking_id, reason=tally.reason), whole=True))
    else:
        for ticket in refundable:
            _attempt(tally, [ticket], booking_id, lambda ticket=ticket: tally.refunded(
                cancellation.refund_ticket(org, ticket.id, reason=tally.reason), whole=False))
    if rest:
        _cancel(org, tally, rest, booking_id, whole=False)


def _covers_booking(booking_id: str | None, tickets: list[Ticket]) -> bool:
    """Whether `tickets` are all of the booking's live tickets (any event), so the booking can go at once."""
    if booking_id is None:
        return False
    live = {row.id for row in Ticket.select(Ticket.id).where(
        (Ticket.booking == booking_id) & Ticket.status.in_(cancellation.LIVE))}
    return live == {t.id for t in tickets}


def process(org: Org, job_row: SyncJob) -> dict:
    """Refund or cancel every live ticket in the job's scope, booking by booking, reporting progress."""
    params = job_row.params or {}
    tally = _Tally(params.get("refund_method", "original"), params.get("note") or "")
    tickets = list(scoped(Ticket, org).where(Ticket.event.in_(params.get("event_ids") or [])
                                             & Ticket.status.in_(cancellation.LIVE))
                   .order_by(Ticket.booking, Ticket.id))
    by_booking: dict[str | None, list[Ticket]] = {}
    for ticket in tickets:
        by_booking.setdefault(ticket.booking_id, []).append(ticket)
    sync_jobs.report_progress(job_row.id, 0, len(tickets))
    work = _refund if tally.method == "original" else _cancel
    done = 0
    with _muted(not params.get("notify_customer", True)):
        for booking_id, group in by_booking.items():
            todo = [t for t in group if params.get("refund_checked_in") or t.status != "checked_in"]
            tally.counts["skipped_checked_in"] += len(group) - len(todo)
            if todo:
                work(org, tally, todo, booking_id, whole=len(todo) == len(group) and _covers_booking(booking_id, todo))
            done += len(group)
            sync_jobs.report_progress(job_row.id, done)
    return tally.counts


@job()
def run_bulk_refund(org_id: str, job_id: str) -> None:
    """Background job: refund/cancel the event's tickets, record counts, release the event, fire the hook.

    Not retried and safe to re-run: tickets already refunded or cancelled are never touched again. Only an
    unexpected error fails the job; provider refusals are counted in its `result`.
    """
    job_row = SyncJob.get_or_none((SyncJob.id == job_id) & (SyncJob.org == org_id))
    if job_row is None or not sync_jobs.begin_job(job_id):
        return
    org = Org.get_by_id(org_id)
    try:
        counts = process(org, job_row)
    except Exception as exc:
        log.exception("bulk refund %s failed", job_id)
        sync_jobs.finish_job(job_row, error=str(exc)[:500])
        return
    with write_transaction():
        SyncJob.update(result=counts).where(SyncJob.id == job_id).execute()
        sync_jobs.finish_job(job_row)
        if counts["refunded"] or counts["cancelled"]:
            params = job_row.params or {}
            summary = {**counts, **{k: params.get(k) for k in ("refund_method", "date_ids", "refund_checked_in",
                                                              "notify_customer", "note")}}
            hook = "event_refunded" if params.get("refund_method") == "original" else "event_cancelled"
            hooks_for(org).notify(hook, org=org, event=Event.get_by_id(job_row.event_id),
                                  job=SyncJob.get_by_id(job_id), summary=summary)

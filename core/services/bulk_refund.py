"""Bulk refund or cancel of an event's tickets (003 `PATCH /events/:id/refund`) as a `refund` sync job: money
back through each booking's gateway (`original`), as the buyer's store credit (`store_credit`), or none; tickets
voided or kept valid (`void_tickets`); a staff-written e-mail to each buyer (`send_email`).

Never moves money, grants credit or voids a ticket itself: every change goes through
`core.services.cancellation`; the e-mail goes through the `customer_message` hook.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Iterator
from contextvars import ContextVar

from core import outbox
from core.db import write_transaction
from core.errors import ApiError, Unprocessable
from core.jobs import job
from core.models import Booking, Event, Org, SyncJob, Ticket, utcnow
from core.plugins import hooks_for
from core.services import audit, cancellation, sync_jobs
from core.tenancy import get_scoped, scoped

log = logging.getLogger(__name__)

KIND = "refund"
METHODS = ("original", "store_credit", "none")
REFUNDING_METHODS = ("original", "store_credit")
MAX_SUBJECT = 300
MAX_BODY = 20000
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


def _invalid(message: str, field: str, problem: str, type: str = "invalid_refund_option") -> Unprocessable:
    return Unprocessable(message, type=type, errors={field: [problem]})


def _check_options(refund_method: str, void_tickets: bool, send_email: bool, email_template: dict | None,
                   expiration_date: dt.datetime | None) -> None:
    """422 for a combination that would be ignored or cannot work (nothing is accepted and then ignored)."""
    if refund_method not in METHODS:
        raise _invalid(f"refund_method {refund_method!r} is unknown; use {', '.join(METHODS)}.", "refund_method",
                       refund_method, "unsupported_refund_method")
    if not void_tickets and refund_method == "none":
        raise _invalid("refund_method none with void_tickets false would change nothing.", "void_tickets",
                       "must be true when refund_method is none")
    if expiration_date is not None:
        if refund_method != "store_credit":
            raise _invalid("expiration_date is only for store_credit refunds.", "expiration_date",
                           "only with refund_method store_credit")
        if expiration_date <= utcnow():
            raise _invalid("expiration_date must be in the future.", "expiration_date", "in the past")
    if send_email and not email_template:
        raise _invalid("send_email needs an email_template {subject, body}.", "email_template",
                       "required when send_email is true")
    if email_template and not send_email:
        raise _invalid("email_template is only sent with send_email: true.", "email_template",
                       "only with send_email true")
    if email_template:
        for part, most in (("subject", MAX_SUBJECT), ("body", MAX_BODY)):
            text = str(email_template.get(part) or "").strip()
            if not text or len(text) > most:
                raise _invalid(f"email_template.{part} must be 1 to {most} characters.", f"email_template.{part}",
                               "missing or too long")


def start_bulk_refund(org: Org, event_id: str, *, refund_method: str = "original",
                      date_ids: list[str] | None = None, refund_checked_in: bool = False,
                      void_tickets: bool = True, notify_customer: bool = True, note: str = "",
                      send_email: bool = False, email_template: dict | None = None,
                      expiration_date: dt.datetime | None = None) -> SyncJob:
    """Validate, mark the event syncing and queue the `refund` job; returns the job (run inline in tests).

    422 `unsupported_refund_method`, `invalid_refund_option` (expiration_date without store_credit or in the
    past, send_email without email_template or the reverse, void_tickets false with method none),
    `email_unavailable` (send_email with no e-mail plugin enabled), `invalid_date_ids`; 409 `uneditable`
    while another job runs.
    """
    event = get_scoped(Event, org, event_id, "event")
    _check_options(refund_method, void_tickets, send_email, email_template, expiration_date)
    if send_email and not hooks_for(org).consumes("customer_message"):
        raise _invalid("No enabled plugin of this organisation sends e-mail (enable notifications) to send "
                       "email_template.", "send_email", "no e-mail plugin enabled", "email_unavailable")
    event_ids = _scope(org, event, date_ids)
    template = {k: str(email_template[k]).strip() for k in ("subject", "body")} if email_template else None
    params = {"refund_method": refund_method, "event_ids": event_ids, "date_ids": date_ids,
              "refund_checked_in": refund_checked_in, "notify_customer": notify_customer, "note": note,
              "void_tickets": void_tickets, "send_email": send_email, "email_template": template,
              "expiration_date": expiration_date.strftime("%Y-%m-%dT%H:%M:%SZ") if expiration_date else None}
    with write_transaction():
        sync_jobs.claim_event(org.id, event.id, syncing_after=True)
        job_row = sync_jobs.record_job(org, event, KIND)
        SyncJob.update(params=params).where(job_row.row_condition()).execute()
        with audit.pinned_actor():  # each refund and cancellation the job makes is recorded as the requester's
            outbox.enqueue(run_bulk_refund, org.id, job_row.id)
    return job_row.reread()


class _Tally:
    """The job's running counts, saved as its `result`, and the buyers it changed tickets for."""

    def __init__(self, params: dict):
        self.method = params.get("refund_method", "original")
        self.reason = params.get("note") or ""  # the job's `note`, kept as each Refund's reason
        self.void = params.get("void_tickets", True)
        expiry = params.get("expiration_date")
        self.expires_at = dt.datetime.strptime(expiry, "%Y-%m-%dT%H:%M:%SZ") if expiry else None
        self.counts = {"refunded": 0, "cancelled": 0, "skipped_checked_in": 0, "skipped_already": 0,
                       "failed": 0, "bookings_refunded": 0, "refunded_amount": 0, "store_credit_amount": 0,
                       "tickets_kept_valid": 0, "emails_sent": 0, "failures": [], "refunds": []}
        self.buyers: dict[str, str] = {}  # e-mail -> name, of the tickets this job refunded or cancelled

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
        """Count a settled refund and list what it did (method, amount, credit, tickets voided or kept)."""
        refund = outcome.refund
        data = refund.data or {}
        self.counts["refunded"] += len(outcome.tickets)
        self.counts["refunded_amount"] += refund.amount
        self.counts["bookings_refunded"] += int(whole)
        if data.get("method") == cancellation.STORE_CREDIT:
            self.counts["store_credit_amount"] += refund.amount
        if not self.void:
            self.counts["tickets_kept_valid"] += len(outcome.tickets)
        self.changed(outcome.booking, outcome.tickets)
        if len(self.counts["refunds"]) < MAX_FAILURES_LISTED:
            self.counts["refunds"].append({
                "refund_id": refund.id, "booking_id": refund.booking_id, "method": data.get("method", self.method),
                "amount": refund.amount, "currency": refund.currency, "status": refund.status,
                "store_credit_id": data.get("store_credit_id"), "credit_expires_at": data.get("credit_expires_at"),
                "ticket_ids": list(refund.ticket_ids or []), "tickets_voided": data.get("void_tickets", True)})

    def changed(self, booking: Booking | None, tickets: list[Ticket]) -> None:
        """Remember the buyer (or, with no booking, each holder) of tickets this job refunded or cancelled."""
        if booking is not None and booking.email:
            self.buyers.setdefault(booking.email.lower(), booking.name)
            return
        for ticket in tickets:
            if ticket.holder_email:
                self.buyers.setdefault(ticket.holder_email.lower(), ticket.holder_name)


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
            booking = cancellation.cancel_booking(org, booking_id)
            tally.counts["cancelled"] += len(tickets)
            tally.changed(booking, tickets)
        _attempt(tally, tickets, booking_id, cancel_all)
        return
    for ticket in tickets:
        def cancel_one(ticket=ticket):
            cancellation.cancel_ticket(org, ticket.id)
            tally.counts["cancelled"] += 1
            tally.changed(Booking.get_or_none((Booking.id == booking_id) & (Booking.org == org.id))
                          if booking_id else None, [ticket])
        _attempt(tally, [ticket], booking_id, cancel_one)


def _refund(org: Org, tally: _Tally, tickets: list[Ticket], booking_id: str | None, whole: bool) -> None:
    """Money back through the booking's gateway or as store credit (voiding the tickets or keeping them
    valid); tickets with nothing to refund through are cancelled (kept as they are with `void_tickets`
    false), tickets refunded before and kept valid are skipped."""
    kept = [t for t in tickets if cancellation.kept_refund(t)]
    tally.counts["skipped_already"] += len(kept)
    tickets = [t for t in tickets if t not in kept]
    refundable = [t for t in tickets if booking_id and t.status in cancellation.REFUNDABLE]
    rest = [t for t in tickets if t not in refundable]
    how = {"reason": tally.reason, "method": tally.method, "void": tally.void,
           "credit_expires_at": tally.expires_at}
    if whole and refundable and not kept:
        _attempt(tally, refundable, booking_id,
                 lambda: tally.refunded(cancellation.refund_booking(org, booking_id, **how), whole=True))
    else:
        for ticket in refundable:
            _attempt(tally, [ticket], booking_id, lambda ticket=ticket: tally.refunded(
                cancellation.refund_ticket(org, ticket.id, **how), whole=False))
    if rest and tally.void:
        _cancel(org, tally, rest, booking_id, whole=False)


def _covers_booking(org_id: str, booking_id: str | None, tickets: list[Ticket]) -> bool:
    """Whether `tickets` are all of the booking's live tickets (any event), so the booking can go at once."""
    if booking_id is None:
        return False
    live = {row.id for row in Ticket.select(Ticket.id).where(
        (Ticket.org == org_id) & (Ticket.booking == booking_id) & Ticket.status.in_(cancellation.LIVE))}
    return live == {t.id for t in tickets}


def process(org: Org, job_row: SyncJob) -> dict:
    """Refund or cancel every live ticket in the job's scope, booking by booking, reporting progress."""
    params = job_row.params or {}
    tally = _Tally(params)
    tickets = list(scoped(Ticket, org).where(Ticket.event.in_(params.get("event_ids") or [])
                                             & Ticket.status.in_(cancellation.LIVE))
                   .order_by(Ticket.booking, Ticket.id))
    by_booking: dict[str | None, list[Ticket]] = {}
    for ticket in tickets:
        by_booking.setdefault(ticket.booking_id, []).append(ticket)
    sync_jobs.report_progress(job_row, 0, len(tickets))
    work = _refund if tally.method in REFUNDING_METHODS else _cancel
    done = 0
    with _muted(not params.get("notify_customer", True)):
        for booking_id, group in by_booking.items():
            todo = [t for t in group if params.get("refund_checked_in") or t.status != "checked_in"]
            tally.counts["skipped_checked_in"] += len(group) - len(todo)
            if todo:
                whole = len(todo) == len(group) and _covers_booking(org.id, booking_id, todo)
                work(org, tally, todo, booking_id, whole=whole)
            done += len(group)
            sync_jobs.report_progress(job_row, done)
    template = params.get("email_template")
    if params.get("send_email") and template and tally.buyers:
        event = get_scoped(Event, job_row.org_id, job_row.event_id)
        with write_transaction():
            relay = hooks_for(org)
            for email, name in sorted(tally.buyers.items()):
                relay.notify("customer_message", org=org, event=event, email=email, name=name or "",
                             subject=template["subject"], body=template["body"])
        tally.counts["emails_sent"] = len(tally.buyers)
    return tally.counts


@job()
def run_bulk_refund(org_id: str, job_id: str) -> None:
    """Background job: refund/cancel the event's tickets, record counts, release the event, fire the hook.

    Not retried and safe to re-run: tickets already refunded or cancelled are never touched again. Only an
    unexpected error fails the job; provider refusals are counted in its `result`.
    """
    job_row = SyncJob.get_or_none((SyncJob.id == job_id) & (SyncJob.org == org_id))
    if job_row is None or not sync_jobs.begin_job(job_row):
        return
    org = Org.get_by_id(org_id)
    try:
        counts = process(org, job_row)
    except Exception as exc:
        log.exception("bulk refund %s failed", job_id)
        sync_jobs.finish_job(job_row, error=str(exc)[:500])
        return
    with write_transaction():
        SyncJob.update(result=counts).where((SyncJob.id == job_id) & (SyncJob.org == org_id)).execute()
        sync_jobs.finish_job(job_row)
        if counts["refunded"] or counts["cancelled"]:
            params = job_row.params or {}
            summary = {**counts, **{k: params.get(k) for k in ("refund_method", "date_ids", "refund_checked_in",
                                                              "notify_customer", "note", "void_tickets",
                                                              "send_email", "expiration_date")}}
            refunding = params.get("refund_method") in REFUNDING_METHODS
            hook = "event_refunded" if refunding else "event_cancelled"
            hooks_for(org).notify(hook, org=org, event=get_scoped(Event, job_row.org_id, job_row.event_id),
                                  job=job_row.reread(), summary=summary)

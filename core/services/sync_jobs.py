"""Sync jobs (003): the lifecycle of background work on an event, and the recurrence fan-out job itself.

While a job is queued or running the event is `syncing` and cannot be edited; a job never leaves an event
syncing after it ends, whether it succeeded or failed. A job whose worker died stops reporting progress
(its heartbeat): after `STALE_AFTER` the next edit fails it as lost and releases the event
(`release_if_stale`), and a lost job that a worker picks up later does nothing (`begin_job`).
"""

from __future__ import annotations

import datetime as dt
import logging

from core import outbox
from core.db import write_transaction
from core.errors import ApiError, Conflict
from core.jobs import job
from core.models import Event, Org, Recurrence, SyncJob, TicketType, new_id, utcnow
from core.models.public_id import fill_public_ids
from core.services import checkin, event_lists, pickups
from core.services.event_pages import date_slug
from core.services.event_queries import events_with_sales
from core.tenancy import get_scoped, scoped

log = logging.getLogger(__name__)

FAN_OUT = "recurrence_fan_out"
INSERT_CHUNK = 100
ACTIVE_STATES = ("queued", "running")
STALE_AFTER = dt.timedelta(minutes=10)
LOST = ("stopped reporting progress for 10 minutes (its worker was lost); the event was released. "
        "Save the event again (or start the refund again) to run it anew.")


def record_job(org: Org | str, event: Event, kind: str, status: str = "queued", total: int = 0) -> SyncJob:
    """Create a SyncJob row (call inside the caller's write transaction). A `succeeded` job is finished."""
    now = utcnow()
    finished = status in ("succeeded", "failed")
    return SyncJob.create(org=org, event=event, kind=kind, status=status, progress_total=total,
                          progress_done=total if status == "succeeded" else 0,
                          started_at=now if status != "queued" else None,
                          finished_at=now if finished else None)


def get_sync_job(org: Org, event_id: str, job_id: str) -> SyncJob:
    """A job of one of the tenant's events, or 404 (`event_not_found` / `sync_job_not_found`)."""
    event = get_scoped(Event, org, event_id, "event")
    found = scoped(SyncJob, org).where((SyncJob.event == event.id) & (SyncJob.id == str(job_id)[:64])).first()
    if found is None:
        raise ApiError(f"No sync job {job_id!r} for this event.", status=404, type="sync_job_not_found")
    return found


def finish_job(job_row: SyncJob, error: str | None = None) -> None:
    """Mark a job succeeded or failed and release the event's `syncing` flag."""
    with write_transaction():
        SyncJob.update(status="failed" if error else "succeeded", error=error, finished_at=utcnow()).where(
            job_row.row_condition()).execute()
        Event.update(syncing=False).where((Event.id == job_row.event_id) & (Event.org == job_row.org_id)).execute()


def begin_job(job_row: SyncJob) -> bool:
    """A worker takes a queued job: queued -> running, conditionally. False when it is no longer queued
    (finished, or failed as lost meanwhile): the worker must then leave it alone."""
    now = utcnow()
    return SyncJob.update(status="running", started_at=now, updated_at=now, error=None).where(
        job_row.row_condition() & (SyncJob.status == "queued")).execute() == 1


def report_progress(job_row: SyncJob, done: int, total: int | None = None) -> None:
    """Record a job's progress; this is also its heartbeat (`updated_at`)."""
    values = {"progress_done": done, "updated_at": utcnow()}
    if total is not None:
        values["progress_total"] = total
    SyncJob.update(**values).where(job_row.row_condition()).execute()


def release_if_stale(org_id: str, event_id: str) -> bool:
    """Release an event left `syncing` by jobs that reported nothing for `STALE_AFTER` (their worker died):
    those jobs fail with `LOST` and the event is editable again. True if it released the event."""
    cutoff = utcnow() - STALE_AFTER
    with write_transaction():
        active = list(scoped(SyncJob, org_id).where((SyncJob.event == event_id) & SyncJob.status.in_(ACTIVE_STATES)))
        if any(row.updated_at > cutoff for row in active):
            return False
        for row in active:
            log.warning("sync job %s on event %s lost (no progress since %s)", row.id, event_id, row.updated_at)
            SyncJob.update(status="failed", error=LOST, finished_at=utcnow()).where(
                row.row_condition() & SyncJob.status.in_(ACTIVE_STATES) & (SyncJob.updated_at <= cutoff)).execute()
        released = Event.update(syncing=False).where(
            (Event.id == event_id) & (Event.org == org_id) & (Event.syncing == True)).execute()  # noqa: E712
    return released == 1


def claim_event(org_id: str, event_id: str, *, syncing_after: bool) -> None:
    """Take an event for an edit or a job: one conditional UPDATE that only an event not syncing passes
    (leaving it `syncing_after`); an event held by a lost job is released first (`release_if_stale`).
    409 `uneditable` otherwise. Call inside the caller's write transaction."""
    def claim() -> int:
        return Event.update(updated_at=utcnow(), syncing=syncing_after).where(
            (Event.id == event_id) & (Event.org == org_id) & (Event.syncing == False)  # noqa: E712
        ).execute()

    if not claim() and not (release_if_stale(org_id, event_id) and claim()):
        raise still_syncing()


def still_syncing() -> Conflict:
    """409 `uneditable`: a job is working on the event."""
    return Conflict("Event is currently syncing and cannot be edited until finished; follow the job at "
                    "GET /events/{id}/sync_jobs/{jobId} (a job that stops reporting progress for 10 minutes "
                    "is released).", type="uneditable")


def queue_fan_out(job_row: SyncJob) -> None:
    """Record the fan-out of a job in the outbox, inside the write transaction that records the job: it runs
    once that commits, and later (swept) if the queue is down meanwhile."""
    outbox.enqueue(fan_out_recurrences, job_row.org_id, job_row.id)


def _removable_children(org_id: str, template: Event, now: dt.datetime) -> list[str]:
    """Generated future dates of `template` that nobody booked: safe to delete and regenerate."""
    ids = [row.id for row in scoped(Event, org_id, Event.id).where(
        (Event.parent == template.id) & (Event.recurrence_id.is_null(False)) & (Event.starts_at >= now))]
    sold = events_with_sales(org_id, ids)
    return [i for i in ids if i not in sold]


def _copy_ticket_types(org_id: str, template: Event, child_ids: list[str]) -> None:
    """Give each new date the template's ticket types (its own inventory per date)."""
    types = list(scoped(TicketType, org_id).where((TicketType.event == template.id)
                                                  & TicketType.archived_at.is_null()))
    if not types or not child_ids:
        return
    skip = {"id", "public_id", "event", "org", "sold", "held", "created_at", "updated_at"}
    names = [f for f in TicketType._meta.fields if f not in skip]
    rows = [{**{n: getattr(tt, n) for n in names}, "id": new_id(), "org": org_id, "event": child,
             "metadata": {**(tt.metadata or {}), "template_ticket_type_id": tt.id}}
            for child in child_ids for tt in types]
    fill_public_ids(TicketType, rows)
    for start in range(0, len(rows), INSERT_CHUNK):
        TicketType.insert_many(rows[start:start + INSERT_CHUNK]).execute()
    pickups.copy_ticket_type_pickups(org_id, {row["id"]: row["metadata"]["template_ticket_type_id"] for row in rows})


def _reattach_kept(org_id: str, template: Event, occurrences: list, now: dt.datetime) -> None:
    """Dates that stay (they have sales, or are over) point at the rule that produces their start: a future
    one the rules no longer produce, and any whose rule was removed, is detached (`recurrence_id` NULL: kept as
    an ordinary date of the event, counted by no rule), and attached again when a rule produces it again."""
    producer = {}
    for rule, occ in occurrences:
        producer.setdefault(occ.starts_at, rule.id)
    rule_ids = set(producer.values()) | {
        row.id for row in scoped(Recurrence, org_id, Recurrence.id).where(Recurrence.event == template.id)}
    kept = scoped(Event, org_id, Event.id, Event.starts_at, Event.recurrence_id).where(Event.parent == template.id)
    for row in kept:
        wanted = row.recurrence_id if row.recurrence_id in rule_ids else None
        if row.starts_at >= now:
            wanted = producer.get(row.starts_at)
        if wanted != row.recurrence_id:
            (Event.update(recurrence_id=wanted, updated_at=now)
             .where((Event.id == row.id) & (Event.org == org_id)).execute())


def generate_dates(job_row: SyncJob) -> int:
    """Regenerate the future dates of a recurring event from its rules; returns how many were created.

    Dates with sales are never touched (`_reattach_kept` only re-points or detaches them); future dates without
    sales are deleted and made again, each remembering the rule that produced it (`Event.recurrence_id`)."""
    from core.services.recurrence import expand_all

    org_id = job_row.org_id
    template = get_scoped(Event, job_row.org_id, job_row.event_id)
    now = utcnow()
    rules = list(scoped(Recurrence, org_id).where(Recurrence.event == template.id))
    occurrences = expand_all(rules, template.tz, template.ends_at - template.starts_at, now)
    with write_transaction():
        removable = _removable_children(org_id, template, now)
        for start in range(0, len(removable), INSERT_CHUNK):
            chunk = removable[start:start + INSERT_CHUNK]
            checkin.forget_scans(org_id, chunk)
            Event.delete().where((Event.org == org_id) & Event.id.in_(chunk)).execute()
        _reattach_kept(org_id, template, occurrences, now)
        kept = {row.starts_at for row in scoped(Event, org_id, Event.starts_at).where(
            Event.parent == template.id)}
        todo = [(rule, occ) for rule, occ in occurrences if occ.starts_at not in kept and occ.ends_at > now]
        report_progress(job_row, 0, len(todo))
    base = {"org": org_id, "type": "date", "name": template.name, "description": template.description,
            "venue": template.venue_id, "parent": template.id, "tz": template.tz,
            "capacity": template.capacity, "published_at": template.published_at,
            "visibility": template.visibility, "location": template.location}
    done = 0
    for start in range(0, len(todo), INSERT_CHUNK):
        chunk = todo[start:start + INSERT_CHUNK]
        rows = [{**base, "id": row_id, "slug": date_slug(template.slug, row_id), "recurrence_id": rule.id,
                 "starts_at": occ.starts_at, "ends_at": occ.ends_at, "created_at": now, "updated_at": now}
                for rule, occ, row_id in ((rule, occ, new_id()) for rule, occ in chunk)]
        fill_public_ids(Event, rows)
        with write_transaction():
            Event.insert_many(rows).execute()
            event_lists.add_default_lists(org_id, rows)
            _copy_ticket_types(org_id, template, [r["id"] for r in rows])
            done += len(rows)
            report_progress(job_row, done)
    return done


@job()
def fan_out_recurrences(org_id: str, job_id: str) -> None:
    """Background job: expand a recurring event's rules into child date events, reporting progress.

    Not retried: a failure is recorded on the job (status `failed`, `error`) and the event is editable
    again, so the organiser can save the rules once more. Re-running is safe (unbooked future dates are
    regenerated, booked ones kept).
    """
    job_row = SyncJob.get_or_none((SyncJob.id == job_id) & (SyncJob.org == org_id))
    if job_row is None or not begin_job(job_row):
        return
    try:
        created = generate_dates(job_row)
    except Exception as exc:
        log.exception("recurrence fan-out %s failed", job_id)
        finish_job(job_row, error=str(exc)[:500])
        return
    with write_transaction():
        SyncJob.update(result={"created": created}).where(job_row.row_condition()).execute()
    finish_job(job_row)

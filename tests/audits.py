"""Read-only audits and set-up shortcuts the tests use on the database (no production code calls them).

Never changes what it audits; `start_sync_job` opens a job the way a running sync would, for tests of the
`uneditable` guard.
"""

from __future__ import annotations

from peewee import fn

from core.db import write_transaction
from core.models import Event, Org, SyncJob, Ticket
from core.models.participation import SessionSeats
from core.services.sync_jobs import record_job
from core.tenancy import scoped

LIVE = ("valid", "checked_in", "pending_activation")


def counters_match_rows(event_id: str) -> bool:
    """The event's `sold` equals the seats of its live tickets."""
    seats = (Ticket.select(fn.COALESCE(fn.SUM(Ticket.seats), 0))
             .where((Ticket.event == event_id) & Ticket.status.in_(LIVE)).scalar())
    return Event.get_by_id(event_id).sold == seats


def seats_taken(org, session_id: str) -> int:
    """Participation seats currently taken in a session."""
    row = scoped(SessionSeats, org).where(SessionSeats.session == session_id).first()
    return row.taken if row else 0


def start_sync_job(org: Org, event: Event, kind: str) -> SyncJob:
    """Open a running job on `event` and mark it syncing (edits get 409 `uneditable` until it ends)."""
    with write_transaction():
        Event.update(syncing=True).where((Event.id == event.id) & (Event.org == org.id)).execute()
        return record_job(org, event, kind, status="running")

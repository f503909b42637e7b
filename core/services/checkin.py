"""Door scanning: validate a QR (records nothing) and check a ticket in (one conditional UPDATE + a scan log row).

Never admits on a read-then-write: the UPDATE's WHERE (status, scan_count < limit, secret_version) decides,
so concurrent scans of one ticket admit it at most `limit` times. Knows nothing of HTTP.
"""

from __future__ import annotations

import functools
import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING

from peewee import fn

from core.db import db, is_sqlite, write_transaction
from core.errors import ApiError, NotFound
from core.memo import TimedMemo
from core.models import CheckIn, Ticket, TicketType, new_id, utcnow
from core.services import qr
from core.services.checkin_sql import ADMITTABLE, REVOKED, ScanShape, scan_sql
from core.sqlcache import CompiledQuery, Slot, compile_query, insert_rows, instance, loaded
from core.timefmt import iso_utc

if TYPE_CHECKING:
    from core.services.participation import SessionVerdict

_TYPES = TimedMemo(5.0)  # for the type's display name only; admission rules are always read in SQL
_SQLITE_RETURNING = sqlite3.sqlite_version_info >= (3, 35, 0)  # UPDATE ... RETURNING (PostgreSQL: always)

_REFUSALS = {
    "unknown": (422, "invalid_qr", "This code is not a ticket of this organisation."),
    "forged": (422, "invalid_qr", "This ticket code's signature is not valid for this organisation."),
    "wrong_event": (409, "wrong_event", "This ticket is for another event."),
    "revoked": (409, "ticket_revoked", "This ticket was cancelled, refunded or transferred; its QR is void."),
    "not_activated": (409, "not_activated", "This ticket has not been activated yet."),
    "scan_point_not_accepted": (409, "scan_point_not_accepted", "This ticket is not accepted at this scan point."),
    "already_used": (409, "already_checked_in", "This ticket has already been checked in."),
}


@dataclass
class Scan:
    """A resolved ticket (with its type) and what the QR claimed, if it came from a QR."""

    ticket: Ticket
    claims: qr.QrClaims | None = None


def scan_limit(ticket_type: TicketType) -> int | None:
    """Total admissions allowed: 1 without re-entry, else `reentry_limit` (None = unlimited)."""
    if not ticket_type.allow_reentry:
        return 1
    return ticket_type.reentry_limit


def _load(org, ticket_id: str) -> Ticket | None:
    org_id = org if isinstance(org, str) else org.id
    return (Ticket.select(Ticket, TicketType).join(TicketType)
            .where((Ticket.id == ticket_id) & (Ticket.org == org_id)).first())


def resolve_payload(org, payload: object) -> tuple[Scan | None, str | None]:
    """Verify a QR text offline, then find its ticket; returns (scan, None) or (scan-or-None, reason)."""
    try:
        claims = qr.verify_payload(org.signing_public_key, payload, private_key_b64=org.signing_private_key)
    except qr.QrDecodeError as exc:
        return None, exc.reason
    ticket = _load(org, claims.ticket_id)
    if ticket is None:
        return None, "unknown"
    if not claims.matches_event(ticket.event_id):
        return None, "forged"
    return Scan(ticket, claims), None


def resolve_ticket(org, ticket_id: str) -> Scan:
    """The ticket named by id for a manual check-in, or 404 `ticket_not_found`."""
    ticket = _load(org, ticket_id) if isinstance(ticket_id, str) and len(ticket_id) <= 64 else None
    if ticket is None:
        raise NotFound(f"No ticket with id {ticket_id!r}.", type="ticket_not_found")
    return Scan(ticket)


def refusal(scan: Scan, *, event_id: str | None, scan_point: str | None) -> str | None:
    """Why this ticket cannot be admitted now (a reason string), or None if it can."""
    ticket, ticket_type = scan.ticket, scan.ticket.ticket_type
    if event_id and ticket.event_id != event_id:
        return "wrong_event"
    if ticket.status in REVOKED:
        return "revoked"
    if scan.claims is not None and scan.claims.secret_version != ticket.secret_version:
        return "revoked"
    if ticket.status == "pending_activation":
        return "not_activated"
    accepted = ticket_type.accepted_scan_points or []
    if accepted and scan_point not in accepted:
        return "scan_point_not_accepted"
    limit = scan_limit(ticket_type)
    if limit is not None and ticket.scan_count >= limit:
        return "already_used"
    return None


def ticket_summary(ticket: Ticket) -> dict:
    """The ticket block of a validation or scan answer."""
    return {
        "id": ticket.id,
        "eventId": ticket.event_id,
        "holderName": ticket.holder_name,
        "holderEmail": ticket.holder_email,
        "ticketType": {"id": ticket.ticket_type_id, "name": ticket.ticket_type.name},
        "status": ticket.status,
        "scanCount": ticket.scan_count,
        "attended": ticket.scan_count > 0,
        "firstScannedAt": iso_utc(ticket.first_scanned_at),
        "lastScannedAt": iso_utc(ticket.last_scanned_at),
        "lastScanPoint": ticket.last_scan_point,
    }


def validate(org, payload: object, *, event_id: str | None = None, scan_point: str | None = None) -> dict:
    """Would this QR be admitted now? {valid, reason, ticket}. Writes nothing."""
    scan, reason = resolve_payload(org, payload)
    if scan is not None and reason is None:
        verdict = _session_verdict(org, scan, event_id=event_id, scan_point=scan_point)
        reason = verdict.reason if verdict else refusal(scan, event_id=event_id, scan_point=scan_point)
    return {"valid": reason is None, "reason": reason,
            "ticket": ticket_summary(scan.ticket) if scan else None}


def refused_error(reason: str, ticket: Ticket | None) -> ApiError:
    """The 4xx a refused scan answers; a duplicate scan says when and where the ticket was first used."""
    status, type_, message = _REFUSALS[reason]
    extra: dict = {"reason": reason}
    if ticket is not None:
        extra["ticket"] = ticket_summary(ticket)
    if reason == "already_used" and ticket is not None:
        extra.update(firstScannedAt=iso_utc(ticket.first_scanned_at), lastScannedAt=iso_utc(ticket.last_scanned_at),
                     lastScanPoint=ticket.last_scan_point, scanCount=ticket.scan_count)
        where = f" at {ticket.last_scan_point}" if ticket.last_scan_point else ""
        message = f"Already checked in{where} at {iso_utc(ticket.last_scanned_at)}."
    return ApiError(message, status=status, type=type_, **extra)


def _admit(scan: Scan, scan_point: str | None) -> Ticket | None:
    """The conditional UPDATE that admits the ticket; returns the ticket as updated, or None if it lost."""
    ticket = scan.ticket
    limit = scan_limit(ticket.ticket_type)
    version = scan.claims.secret_version if scan.claims else ticket.secret_version
    condition = ((Ticket.id == ticket.id) & (Ticket.org == ticket.org_id) & Ticket.status.in_(ADMITTABLE)
                 & (Ticket.secret_version == version))
    if limit is not None:
        condition &= Ticket.scan_count < limit
    now = utcnow()
    update = (Ticket.update(status="checked_in", scan_count=Ticket.scan_count + 1, last_scanned_at=now,
                            first_scanned_at=fn.COALESCE(Ticket.first_scanned_at, now),
                            last_scan_point=scan_point, updated_at=now)
              .where(condition))
    if is_sqlite() and not _SQLITE_RETURNING:
        return _load(ticket.org_id, ticket.id) if update.execute() == 1 else None
    rows = list(update.returning(Ticket.scan_count, Ticket.first_scanned_at, Ticket.secret_version).execute())
    if not rows:
        return None
    ticket.status, ticket.last_scan_point = "checked_in", scan_point
    ticket.last_scanned_at = ticket.updated_at = now
    ticket.scan_count, ticket.first_scanned_at = rows[0].scan_count, rows[0].first_scanned_at
    ticket.secret_version = rows[0].secret_version
    return ticket


def _session_verdict(org, scan: Scan, *, event_id: str | None, scan_point: str | None) -> SessionVerdict | None:
    """The session door rule (`participation.session_verdict`) for a parent's ticket scanned at one of its
    sessions, or None for every other scan (then `refusal` decides)."""
    if not event_id:
        return None
    from core.services import participation  # participation builds on this module

    return participation.session_verdict(org, scan.ticket, scan.claims, session_id=event_id, scan_point=scan_point)


def _check_in_at_session(org, ticket_id: str, claims: qr.QrClaims | None, *, event_id: str | None,
                         scan_point: str | None, staff: str | None) -> tuple[Ticket, CheckIn] | None:
    """A pass or parent-level ticket scanned at one of the parent's sessions is admitted by the holder's
    session participation, by the same rule `validate` answers with (`participation.session_verdict`);
    None for every other scan."""
    if not event_id:
        return None
    from core.services import participation  # participation builds on this module

    return participation.check_in_at_session(org, ticket_id, claims, session_id=event_id, scan_point=scan_point,
                                             staff=staff)


def check_in(org, scan: Scan, *, event_id: str | None, scan_point: str | None,
             staff: str | None) -> tuple[Ticket, CheckIn]:
    """Admit `scan.ticket` once and log the scan; refused scans are logged too and raise a 409/422."""
    at_session = _check_in_at_session(org, scan.ticket.id, scan.claims, event_id=event_id, scan_point=scan_point,
                                      staff=staff)
    if at_session is not None:
        return at_session
    reason = refusal(scan, event_id=event_id, scan_point=scan_point)
    ticket = scan.ticket
    if reason is None:
        with write_transaction():
            admitted = _admit(scan, scan_point)
            if admitted is not None:
                return admitted, CheckIn.create(org=org.id, ticket=ticket.id, event=ticket.event_id,
                                                scan_point=scan_point, result="admitted", staff=staff)
        ticket = _load(org, ticket.id)
        reason = refusal(Scan(ticket, scan.claims), event_id=event_id, scan_point=scan_point) or "already_used"
    CheckIn.create(org=org.id, ticket=ticket.id, event=ticket.event_id, scan_point=scan_point, result=reason,
                   staff=staff)
    raise refused_error(reason, ticket)


def _cached_type(ticket_type_id: str) -> TicketType:
    return _TYPES.get(ticket_type_id, lambda: TicketType.get_by_id(ticket_type_id))


def _fast_scan(org, ticket_id: str, claims: qr.QrClaims | None, *, event_id: str | None, scan_point: str | None,
               staff: str | None) -> tuple[Ticket, CheckIn] | None:
    """The common case: one statement decides (`checkin_sql`) and the scan is logged with it.

    Returns the admission, raises the refusal, or returns None (nothing written) when the caller must look
    at the ticket itself: on PostgreSQL when a concurrent change made the statement's view of the ticket
    stale. SQLite explains a refusal in the same write transaction (`_scan_in_sqlite`).
    """
    shape = ScanShape(is_sqlite(), claims is not None, bool(event_id), scan_point is not None)
    now = utcnow()
    stamp = Ticket.updated_at.db_value(now)
    params = shape.params(ticket_id=ticket_id, org_id=org.id, stamp=stamp, event_id=event_id, scan_point=scan_point,
                          version=claims.secret_version if claims else None,
                          event_hash=claims.event_hash if claims else None)
    log = {"id": new_id(), "org": org.id, "scan_point": scan_point, "result": "admitted", "staff": staff,
           "created_at": now, "updated_at": now}
    if shape.sqlite:
        return _scan_in_sqlite(org, ticket_id, claims, scan_sql(shape), params, log, event_id=event_id)
    params.update(log_id=log["id"], staff=staff)
    row = db.execute_sql(scan_sql(shape), params).fetchone()
    if row is None:
        if claims is None:
            raise NotFound(f"No ticket with id {ticket_id!r}.", type="ticket_not_found")
        raise refused_error("unknown", None)
    outcome, ticket = row[0], _ticket_from(row[1:])
    if outcome == "admitted":
        return ticket, loaded(CheckIn, {**log, "ticket": ticket.id, "event": ticket.event_id})
    if outcome is None:
        return None
    raise refused_error(outcome, None if outcome == "forged" else ticket)


def _scan_in_sqlite(org, ticket_id: str, claims: qr.QrClaims | None, sql: str, params: dict, log: dict, *,
                    event_id: str | None) -> tuple[Ticket, CheckIn]:
    """SQLite has no data-modifying CTEs: the UPDATE, then (when it admitted nothing) the read that says why
    and the refusal's log row, all in one write transaction, which holds SQLite's write lock throughout."""
    with write_transaction():
        row = db.execute_sql(sql, params).fetchone()
        if row is not None:
            ticket = _ticket_from(row)
            if claims is not None and not claims.matches_event(ticket.event_id):
                raise refused_error("forged", None)  # rolls the admission back
            record = loaded(CheckIn, {**log, "ticket": ticket.id, "event": ticket.event_id})
            _append_log(record)
            return ticket, record
        ticket = _read_ticket(org, ticket_id)
        if ticket is None or (claims is not None and not claims.matches_event(ticket.event_id)):
            if claims is None:
                raise NotFound(f"No ticket with id {ticket_id!r}.", type="ticket_not_found")
            raise refused_error("forged" if ticket else "unknown", None)
        reason = refusal(Scan(ticket, claims), event_id=event_id, scan_point=log["scan_point"]) or "already_used"
        _log_refusal(org, ticket, log["scan_point"], reason, log["staff"])
    raise refused_error(reason, ticket)


def _ticket_from(columns: tuple) -> Ticket:
    """A Ticket from the statement's ticket columns, with its type (for the display name) from the cache."""
    ticket = instance(Ticket, Ticket._meta.sorted_fields, columns)
    ticket.ticket_type = _cached_type(ticket.ticket_type_id)
    return ticket


@functools.lru_cache(maxsize=4)
def _read_sql(sqlite: bool) -> CompiledQuery:
    return compile_query(Ticket.select().where((Ticket.id == Slot("id")) & (Ticket.org == Slot("org"))).limit(1))


def _read_ticket(org, ticket_id: str) -> Ticket | None:
    """The ticket row by id within the tenant (SQL compiled once; its type from the short cache)."""
    rows = _read_sql(is_sqlite()).rows(Ticket, id=ticket_id, org=org.id)
    if not rows:
        return None
    rows[0].ticket_type = _cached_type(rows[0].ticket_type_id)
    return rows[0]


def _log_refusal(org, ticket: Ticket, scan_point: str | None, reason: str, staff: str | None) -> None:
    """Append a refused scan to the log (a single INSERT: its own atomic statement)."""
    now = utcnow()
    _append_log(loaded(CheckIn, {"id": new_id(), "org": org.id, "ticket": ticket.id, "event": ticket.event_id,
                                 "scan_point": scan_point, "result": reason, "staff": staff, "created_at": now,
                                 "updated_at": now}))


def _append_log(record: CheckIn) -> None:
    """INSERT one scan-log row (SQL compiled once)."""
    insert_rows(CheckIn, [record.__data__])


def _fast_path_available() -> bool:
    return not db.in_transaction() and (_SQLITE_RETURNING or not is_sqlite())


def _admit_or_explain(org, ticket_id: str, claims: qr.QrClaims | None, *, event_id: str | None,
                      scan_point: str | None, staff: str | None) -> tuple[Ticket, CheckIn]:
    """Admit by the single UPDATE; when it refuses, read the ticket only to say why and log the refusal.

    The UPDATE is authoritative, so this path never admits on a read. If the read finds nothing wrong (the
    state moved in between, e.g. a failed refund restored the ticket), the UPDATE is tried once more.
    """
    at_session = _check_in_at_session(org, ticket_id, claims, event_id=event_id, scan_point=scan_point, staff=staff)
    if at_session is not None:
        return at_session
    for _ in range(2):
        fast = _fast_scan(org, ticket_id, claims, event_id=event_id, scan_point=scan_point, staff=staff)
        if fast is not None:
            return fast
        ticket = _read_ticket(org, ticket_id)
        if ticket is None or (claims is not None and not claims.matches_event(ticket.event_id)):
            if claims is None:
                raise NotFound(f"No ticket with id {ticket_id!r}.", type="ticket_not_found")
            raise refused_error("forged" if ticket else "unknown", None)
        reason = refusal(Scan(ticket, claims), event_id=event_id, scan_point=scan_point)
        if reason is not None:
            break
    _log_refusal(org, ticket, scan_point, reason or "already_used", staff)
    raise refused_error(reason or "already_used", ticket)


def check_in_payload(org, payload: object, *, event_id: str | None, scan_point: str | None,
                     staff: str | None) -> tuple[Ticket, CheckIn]:
    """Check in the ticket a QR names; forged or unknown codes are 422 `invalid_qr`, nothing logged."""
    if not _fast_path_available():
        scan, reason = resolve_payload(org, payload)
        if scan is None:
            raise refused_error(reason or "unknown", None)
        return check_in(org, scan, event_id=event_id, scan_point=scan_point, staff=staff)
    try:
        claims = qr.verify_payload(org.signing_public_key, payload, private_key_b64=org.signing_private_key)
    except qr.QrDecodeError as exc:
        raise refused_error(exc.reason, None) from exc
    return _admit_or_explain(org, claims.ticket_id, claims, event_id=event_id, scan_point=scan_point, staff=staff)


def forget_scans(org_id: str, event_ids: list[str]) -> int:
    """Delete the scan log rows recorded at `event_ids` (called with the events' own deletion, in its
    transaction: on PostgreSQL the log keeps no foreign keys, see migration 4); returns how many."""
    return CheckIn.delete().where((CheckIn.org == org_id) & CheckIn.event.in_(event_ids)).execute()


def check_in_ticket(org, ticket_id: str, *, event_id: str | None, scan_point: str | None,
                    staff: str | None) -> tuple[Ticket, CheckIn]:
    """Check in a ticket by id (manual entry); 404 if the tenant has no such ticket."""
    if not _fast_path_available() or not isinstance(ticket_id, str) or len(ticket_id) > 64:
        return check_in(org, resolve_ticket(org, ticket_id), event_id=event_id, scan_point=scan_point, staff=staff)
    return _admit_or_explain(org, ticket_id, None, event_id=event_id, scan_point=scan_point, staff=staff)

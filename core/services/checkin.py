"""Door scanning: validate a QR or barcode pool code (records nothing) and check a ticket in, by `door_rules`.

Never admits on a read-then-write: the conditional UPDATE built from the rule table decides, so concurrent scans
of one ticket admit it at most its limit; every scan is logged by `_log_insert` (and an undone check-in by
`undo_check_in`, with who did it and why). Knows nothing of HTTP.
"""

from __future__ import annotations

import contextlib
import functools
from dataclasses import dataclass

from peewee import Case, Select, Value, fn

from core import invalidation, metrics
from core.db import after_commit, db, is_sqlite, write_transaction
from core.errors import ApiError, Conflict, NotFound
from core.identity import Identity
from core.memo import TimedMemo
from core.models import CheckIn, DoorConflict, DoorDevice, Event, PassAdmission, Ticket, TicketType, new_id, utcnow
from core.models.participation import Participation
from core.plugins import hooks_for
from core.services import audit, barcode_pools, door_rules, qr, rotating_qr
from core.services.door_rules import RULES, Door
from core.services.statements import CompiledQuery, compile_query, instance, raw_slot
from core.tenancy import along, get_scoped, scoped
from core.timefmt import iso_utc

_TYPES = TimedMemo(5.0)  # for the type's display name only; admission rules are always read in SQL
_SIGNED_EVENTS = TimedMemo(300.0)  # (org, QR event hash) -> the tenant's events with that hash
_PARENTS = TimedMemo(60.0)  # (org, event) -> its parent event id; a session never moves to another parent
LOG_FIELDS = (CheckIn.id, CheckIn.org, CheckIn.ticket, CheckIn.event, CheckIn.scan_point, CheckIn.result,
              CheckIn.staff, CheckIn.created_at, CheckIn.updated_at)
OFFLINE_FIELDS = (CheckIn.scan_id, CheckIn.device_id, CheckIn.scanned_at)  # what an uploaded scan adds
TICKET_FIELDS = tuple(Ticket._meta.sorted_fields)


@dataclass(frozen=True)
class Admission:
    """An admitted scan: the ticket as the admission left it and its scan-log row."""

    ticket: Ticket
    check_in: CheckIn
    admitted: bool = True

    @property
    def ticket_block(self) -> dict:
        """The ticket block of the answer (`ticket_summary`)."""
        return ticket_summary(self.ticket)


@dataclass(frozen=True)
class Outcome:
    """What one scan statement did: `reason` is 'admitted' (with the log row), the rule broken, or None (the
    ticket changed meanwhile: look again)."""

    reason: str | None
    ticket: Ticket
    check_in: CheckIn | None = None


@dataclass(frozen=True)
class Validation:
    """Would a QR be admitted now: `reason` is None when it would, else the rule it breaks."""

    valid: bool
    reason: str | None
    ticket: dict | None  # `ticket_summary` of the code's ticket, when it names one
    accepted_scan_points: list[str] | None = None  # the points its type is accepted at ([]: every point)


def ticket_summary(ticket: Ticket) -> dict:
    """The ticket block of a validation, admission or refusal."""
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


def refused_error(reason: str, ticket: Ticket | None, **extra) -> ApiError:
    """The 4xx a refused scan answers (the rule's status, type and message); a duplicate scan says when and
    where the ticket was first used."""
    rule = RULES[reason]
    message = rule.message
    extra["reason"] = reason
    if ticket is not None:
        extra["ticket"] = ticket_summary(ticket)
    if reason == "already_used" and ticket is not None and "sessionId" not in extra:
        extra.update(firstScannedAt=iso_utc(ticket.first_scanned_at), lastScannedAt=iso_utc(ticket.last_scanned_at),
                     lastScanPoint=ticket.last_scan_point, scanCount=ticket.scan_count)
        where = f" at {ticket.last_scan_point}" if ticket.last_scan_point else ""
        message = f"Already checked in{where} at {iso_utc(ticket.last_scanned_at)}."
    return ApiError(message, status=rule.status, type=rule.type, **extra)


# --- reading ---------------------------------------------------------------------------------------------

def _load(org_id: str, ticket_id: str) -> Ticket | None:
    if not isinstance(ticket_id, str) or len(ticket_id) > 64:
        return None
    return (Ticket.select(Ticket, TicketType).join(TicketType, on=along(Ticket.ticket_type))
            .where((Ticket.id == ticket_id) & (Ticket.org == org_id)).first())


def _claims(org, payload: object, at: float | None = None) -> qr.QrClaims:
    """The verified claims of a QR text, or the `unknown`/`forged` refusal; a rotating code's code is checked
    too (`forged`, then `stale_code`: `rotating_qr.check_live_code`, by the door secret kept per process), at
    `at` (unix seconds; None: now)."""
    try:
        claims = qr.verify_payload(org.signing_public_key, payload, private_key_b64=org.signing_private_key)
    except qr.QrDecodeError as exc:
        raise refused_error(exc.reason, None) from exc
    broken = (rotating_qr.check_live_code(org, claims, _signed_events(org.id, claims), at) if claims.live
              else None)
    if broken is not None:
        raise refused_error(broken, None)
    return claims


def _signed_events(org_id: str, claims: qr.QrClaims) -> tuple[str, ...]:
    """The tenant's events a QR's event hash names (`qr.event_hash` is the one place the hash is computed)."""
    def load() -> tuple[str, ...]:
        ids = (row.id for row in Event.select(Event.id).where(Event.org == org_id))
        return tuple(event_id for event_id in ids if claims.matches_event(event_id))

    return _SIGNED_EVENTS.get((org_id, claims.event_hash), load)


def _not_found(door: Door, ticket_id: object) -> ApiError:
    if door.claims is None:
        return NotFound(f"No ticket with id {ticket_id!r}.", type="ticket_not_found")
    return refused_error("unknown", None)


def _scanned(org, payload: object, event_id: str | None, scan_point: str | None,
             purpose: str = "check_in", at: float | None = None) -> tuple[str, Door]:
    """(the ticket id a scanned text names, the door asking): a signed QR's verified claims, or a barcode pool
    code's ticket (one indexed lookup, `barcode_pools.ticket_for_code`); an unknown or forged code is the
    `unknown`/`forged` refusal (a rotating code judged at `at`, unix seconds, None: now). A signed payload never
    costs the pool lookup."""
    if barcode_pools.is_pool_code(payload):
        ticket_id = barcode_pools.ticket_for_code(org.id, payload)
        if ticket_id is None:
            raise refused_error("unknown", None)
        return ticket_id, Door(event_id, scan_point, purpose=purpose, static_code=True)
    claims = _claims(org, payload, at)
    return claims.ticket_id, Door(event_id, scan_point, claims, purpose=purpose)


def validate(org, payload: object, *, event_id: str | None = None, scan_point: str | None = None) -> Validation:
    """Would this QR (or barcode pool code) be admitted now? Writes nothing."""
    try:
        ticket_id, door = _scanned(org, payload, event_id, scan_point, purpose="validate")
    except ApiError as refused:
        return Validation(False, refused.extra["reason"], None)
    ticket = _load(org.id, ticket_id)
    if ticket is None or door_rules.is_forged(ticket, door):
        return Validation(False, "forged" if ticket else "unknown", None)
    verdict = _session_verdict(org.id, ticket, door)
    reason = verdict[0] if verdict else door_rules.refusal(ticket, door)
    return Validation(reason is None, reason, ticket_summary(ticket),
                      list(ticket.ticket_type.accepted_scan_points or []))


# --- the statements: built with peewee from the rule table, compiled once per shape ----------------------

@dataclass(frozen=True)
class Shape:
    """What changes a scan statement's SQL (its values are bound at run time)."""

    sqlite: bool
    qr: bool  # a QR: its secret version and event binding are checked
    event: bool  # the door names an event
    point: bool  # the door names its scan point
    signed: int = 0  # how many of the tenant's events carry the QR's event hash (almost always 1)
    skip: tuple[str, ...] = ()  # rules left out (a session counts admissions itself)
    static: bool = False  # a code that never changes (BO1, pool code): `live_code_required` is checked

    @classmethod
    def of(cls, door: Door, signed: tuple[str, ...], skip: tuple[str, ...] = ()) -> Shape:
        """The shape of a scan by `door`."""
        return cls(is_sqlite(), door.secret_version is not None, bool(door.event_id),
                   door.scan_point is not None, len(signed), skip, door.static_code)

    @property
    def door(self) -> Door:
        """The door with placeholders for the values this shape binds."""
        return Door(raw_slot("event") if self.event else None, raw_slot("point") if self.point else None,
                    secret_version=raw_slot("version") if self.qr else None, static_code=self.static)

    @property
    def signed_events(self) -> list:
        return [raw_slot(f"signed{i}") for i in range(self.signed)]


def _values(org_id: str, ticket_id: str, door: Door, signed: tuple[str, ...], now, **extra) -> dict:
    """The values a scan statement binds."""
    stamp = Ticket.updated_at.db_value(now)
    values = {"id": ticket_id, "org": org_id, "now": stamp, "event": door.event_id, "point": door.scan_point,
              "version": door.secret_version, **extra}
    values.update((f"signed{i}", event_id) for i, event_id in enumerate(signed))
    return values


def _log_columns(ticket_id, event_id, result) -> list:
    """The `LOG_FIELDS` columns of a scan-log row; ticket, event and result may be columns of a query."""
    return [raw_slot("log_id"), raw_slot("org"), ticket_id, event_id, raw_slot("point"), result, raw_slot("staff"),
            raw_slot("now"), raw_slot("now")]


def _log_insert(rows: Select, fields: tuple = LOG_FIELDS):
    """The one way scan-log rows are written: INSERT of `LOG_FIELDS` (and, for an uploaded scan,
    `OFFLINE_FIELDS`) from `rows` (`_log_columns`)."""
    return CheckIn.insert_from(rows, list(fields))


@functools.lru_cache(maxsize=4)
def _log_sql(sqlite: bool) -> CompiledQuery:
    return compile_query(_log_insert(Select(columns=_log_columns(raw_slot("ticket"), raw_slot("event"),
                                                                 raw_slot("result")))))


def _log(org_id: str, ticket: Ticket, event_id: str, scan_point: str | None, result: str,
         staff: str | None) -> CheckIn:
    """Log one scan of `ticket` at `event_id` and return the row."""
    now = utcnow()
    record = CheckIn(id=new_id(), org=org_id, ticket=ticket.id, event=event_id, scan_point=scan_point,
                     result=result, staff=staff, created_at=now, updated_at=now)
    _log_sql(is_sqlite()).execute(
        {"log_id": record.id, "org": org_id, "ticket": ticket.id, "event": event_id, "point": scan_point,
         "result": result, "staff": staff, "now": CheckIn.created_at.db_value(now)})
    return record


@functools.lru_cache(maxsize=4)
def _offline_log_sql(sqlite: bool) -> CompiledQuery:
    """An uploaded scan's log row, written once per tenant and scan id (a repeat inserts nothing)."""
    columns = [*_log_columns(raw_slot("ticket"), raw_slot("event"), raw_slot("result")), raw_slot("scan_id"),
               raw_slot("device"), raw_slot("scanned_at")]
    return compile_query(_log_insert(Select(columns=columns), LOG_FIELDS + OFFLINE_FIELDS).on_conflict_ignore())


def _admit_update(shape: Shape):
    """The conditional UPDATE that admits: the ticket keeps every door rule (but `shape.skip`) and, for a QR,
    is of an event its hash names; it returns the ticket's columns as updated."""
    door = shape.door
    condition = ((Ticket.id == raw_slot("id")) & (Ticket.org == raw_slot("org"))
                 & along(Ticket.ticket_type) & door_rules.admission_condition(door, skip=shape.skip))
    if shape.qr:
        condition &= Ticket.event.in_(shape.signed_events)
    now = raw_slot("now")
    return (Ticket.update(status="checked_in", scan_count=Ticket.scan_count + 1, last_scanned_at=now,
                          first_scanned_at=fn.COALESCE(Ticket.first_scanned_at, now),
                          last_scan_point=door.scan_point, updated_at=now)
            .from_(TicketType).where(condition).returning(*TICKET_FIELDS))


@functools.lru_cache(maxsize=256)
def _admit_sql(shape: Shape) -> CompiledQuery:
    return compile_query(_admit_update(shape))


@functools.lru_cache(maxsize=256)
def _scan_sql(shape: Shape) -> CompiledQuery:
    """PostgreSQL's whole scan as one statement (data-modifying CTEs): admit and log, or say why not (the
    rule table as a CASE) and log the refusal. Rows: (outcome, *ticket columns)."""
    admitted = _admit_update(shape).cte("admitted")
    forged = Ticket.event.in_(shape.signed_events) if shape.qr else None
    key = (Ticket.id == raw_slot("id")) & (Ticket.org == raw_slot("org"))
    refused = (Ticket.select(door_rules.refusal_case(shape.door, forged=forged).alias("reason"), *TICKET_FIELDS)
               .join(TicketType, on=along(Ticket.ticket_type))
               .where(key & ~fn.EXISTS(Select([admitted], [Value(1)]))).cte("refused"))
    logged = _log_insert(
        Select([admitted], _log_columns(admitted.c.id, admitted.c.event_id, Value("admitted"))).union_all(
            Select([refused], _log_columns(refused.c.id, refused.c.event_id, refused.c.reason))
            .where(refused.c.reason.is_null(False) & (refused.c.reason != "forged")))).cte("logged")
    columns = [f.column_name for f in TICKET_FIELDS]
    outcome = (Select([admitted], [Value("admitted"), *[getattr(admitted.c, c) for c in columns]])
               .union_all(Select([refused], [refused.c.reason, *[getattr(refused.c, c) for c in columns]]))
               .with_cte(admitted, refused, logged))
    return compile_query(outcome.bind(db))


def forget_ticket_type(ticket_type_id: str) -> None:
    """Drop the cached ticket type a scan answer names (after it changed): here once the change commits, on
    every other process through the invalidation bus."""
    invalidation.announce("ticket_type", ticket_type_id)


invalidation.on_change("ticket_type", _TYPES.forget)


def _with_type(ticket: Ticket) -> Ticket:
    """`ticket` with its type (for the display name; the rules read it in SQL) from the short cache."""
    ticket.ticket_type = _TYPES.get(ticket.ticket_type_id,
                                    lambda: get_scoped(TicketType, ticket.org_id, ticket.ticket_type_id))
    return ticket


def _signed(org_id: str, door: Door) -> tuple[str, ...]:
    return _signed_events(org_id, door.claims) if door.claims is not None else ()


def _scan_in_one_statement(org_id: str, ticket_id: str, door: Door, staff: str | None) -> Outcome:
    """PostgreSQL: the whole scan in one round trip (`_scan_sql`). Raises when the tenant has no such ticket."""
    now, log_id, signed = utcnow(), new_id(), _signed(org_id, door)
    compiled = _scan_sql(Shape.of(door, signed))
    row = compiled.execute(_values(org_id, ticket_id, door, signed, now, log_id=log_id, staff=staff)).fetchone()
    if row is None:
        raise _not_found(door, ticket_id)
    ticket = _with_type(instance(Ticket, TICKET_FIELDS, row[1:]))
    if row[0] != "admitted":
        return Outcome(row[0], ticket)
    return Outcome("admitted", ticket, CheckIn(id=log_id, org=org_id, ticket=ticket.id, event=ticket.event_id,
                                               scan_point=door.scan_point, result="admitted", staff=staff,
                                               created_at=now, updated_at=now))


def _admit(org_id: str, ticket_id: str, door: Door, *, skip: tuple[str, ...] = ()) -> Ticket | None:
    """Run the admitting UPDATE alone; the ticket as admitted, or None when a rule refused it."""
    signed = _signed(org_id, door)
    compiled = _admit_sql(Shape.of(door, signed, skip))
    rows = compiled.execute(_values(org_id, ticket_id, door, signed, utcnow())).fetchall()
    return _with_type(instance(Ticket, TICKET_FIELDS, rows[0])) if rows else None


def _scan_in_transaction(org_id: str, ticket_id: str, door: Door, staff: str | None) -> Outcome:
    """SQLite (no data-modifying CTEs): the UPDATE, then, when it admitted nothing, the read that says why, and
    the log row, in one write transaction (which holds SQLite's write lock throughout)."""
    with write_transaction():
        ticket = _admit(org_id, ticket_id, door)
        if ticket is not None:
            return Outcome("admitted", ticket, _log(org_id, ticket, ticket.event_id, door.scan_point, "admitted",
                                                    staff))
        ticket = _load(org_id, ticket_id)
        if ticket is None:
            raise _not_found(door, ticket_id)
        if door_rules.is_forged(ticket, door):
            return Outcome("forged", ticket)
        reason = door_rules.refusal(ticket, door) or "already_used"
        _log(org_id, ticket, ticket.event_id, door.scan_point, reason, staff)
    return Outcome(reason, ticket)


def _check_in(org, ticket_id: str, door: Door, staff: str | None) -> Admission:
    """Admit the ticket once and log the scan; refused scans are logged too (except forged codes) and raise.

    An admission's `ticket_checked_in` hook row commits with it (`_announcing`), like every state change's."""
    at_session = _check_in_at_session(org, ticket_id, door, staff)
    if at_session is not None:
        return at_session
    if not isinstance(ticket_id, str) or len(ticket_id) > 64:
        raise _not_found(door, ticket_id)
    scan = _scan_in_transaction if is_sqlite() else _scan_in_one_statement
    with _announcing(org):
        for _ in range(2):  # no reason: the ticket changed between the UPDATE and the read; the UPDATE runs again
            outcome = scan(org.id, ticket_id, door, staff)
            if outcome.reason is not None:
                break
        if outcome.check_in is not None:
            return _announced(org, Admission(outcome.ticket, outcome.check_in))
    reason = outcome.reason
    if reason is None:
        reason = "already_used"
        _log(org.id, outcome.ticket, outcome.ticket.event_id, door.scan_point, reason, staff)
    raise refused_error(reason, None if reason == "forged" else outcome.ticket)


def _announcing(org) -> contextlib.AbstractContextManager:
    """The scope of a scan: a write transaction when one of the tenant's plugins takes `ticket_checked_in`, so
    the hook's outbox row commits with the admission; otherwise nothing (on PostgreSQL the scan is then one
    statement, the check-in path's single round trip)."""
    return write_transaction() if hooks_for(org).consumes("ticket_checked_in") else contextlib.nullcontext()


def _announced(org, admission: Admission) -> Admission:
    """Tell the tenant's plugins about the admission (`ticket_checked_in`): an outbox row in the admitting
    transaction; and count it once it commits (`core.metrics`)."""
    hooks_for(org).notify("ticket_checked_in", org=org, ticket=admission.ticket, checkin=admission.check_in)
    after_commit(lambda: metrics.count_check_in(org.id))
    return admission


def check_in_payload(org, payload: object, *, event_id: str | None, scan_point: str | None,
                     staff: str | None) -> Admission:
    """Check in the ticket a QR (or barcode pool code) names; forged or unknown codes are 422 `invalid_qr`,
    nothing logged."""
    ticket_id, door = _scanned(org, payload, event_id, scan_point)
    return _check_in(org, ticket_id, door, staff)


def check_in_ticket(org, ticket_id: str, *, event_id: str | None, scan_point: str | None,
                    staff: str | None) -> Admission:
    """Check in a ticket by id (manual entry); 404 `ticket_not_found` if the tenant has no such ticket."""
    return _check_in(org, ticket_id, Door(event_id, scan_point), staff)


# --- offline scans a door device uploads ----------------------------------------------------------------

@dataclass(frozen=True)
class OfflineScan:
    """A scan a door device decided without the network: its own id, when (the device's clock) and where, and
    the device's verdict: admitted, or the rule it refused by."""

    scan_id: str
    scanned_at: object  # naive UTC datetime
    scan_point: str | None
    admitted: bool
    reason: str | None = None
    device_id: str | None = None


@dataclass(frozen=True)
class OfflineRecord:
    """What recording an uploaded scan did: `recorded` False for a scan id already recorded (nothing changed);
    for an admission, `broken` names the door rule the ticket broke when it was counted (its limit, typically:
    the same ticket admitted at two offline doors), else None."""

    recorded: bool
    ticket: Ticket
    broken: str | None = None
    check_in: CheckIn | None = None


def scanned_ticket(org, text: object, event_id: str | None, scan_point: str | None,
                   scanned_at: float) -> tuple[str, Door]:
    """(the ticket id a scanned text names, the door asking), exactly as a scan reads it: a signed code's verified
    claims, or a barcode pool code's ticket; an unknown or forged code raises the rule's refusal. A rotating
    code is judged as fresh or stale when the door scanned it (`scanned_at`, unix seconds), not when it is
    uploaded."""
    return _scanned(org, text, event_id, scan_point, at=scanned_at)


def record_offline(org, ticket_id: str, door: Door, scan: OfflineScan, staff: str | None) -> OfflineRecord:
    """Record a scan a door device decided offline, in the caller's write transaction: its log row (once per scan
    id: a retried or concurrent upload of the same scan records nothing and answers `recorded` False) and, for
    an admission, the count on the ticket. The admission already happened at the door, so it is counted even
    beyond the ticket's limit; the rule it broke then is returned (`door_rules.refusal` on the ticket as it was,
    the UPDATE's row lock serializing uploads of one ticket; a pass at one of its event's sessions by the session
    rules, counted at the session too) and it is announced like any admission. 404 `ticket_not_found` when the
    tenant has no such ticket."""
    ticket = _load(org.id, ticket_id)
    if ticket is None:
        raise NotFound(f"No ticket with id {ticket_id!r}.", type="ticket_not_found")
    now, log_id = utcnow(), new_id()
    result = "admitted" if scan.admitted else (scan.reason or "unknown")
    inserted = _offline_log_sql(is_sqlite()).execute(
        {"log_id": log_id, "org": org.id, "ticket": ticket.id, "event": door.event_id or ticket.event_id,
         "point": scan.scan_point, "result": result, "staff": staff, "now": CheckIn.created_at.db_value(now),
         "scan_id": scan.scan_id, "device": scan.device_id,
         "scanned_at": CheckIn.scanned_at.db_value(scan.scanned_at)}).rowcount
    if inserted != 1:
        return OfflineRecord(False, ticket)
    record = CheckIn(id=log_id, org=org.id, ticket=ticket.id, event=door.event_id or ticket.event_id,
                     scan_point=scan.scan_point, result=result, staff=staff, created_at=now, updated_at=now,
                     scan_id=scan.scan_id, device_id=scan.device_id, scanned_at=scan.scanned_at)
    if not scan.admitted:
        return OfflineRecord(True, ticket, check_in=record)
    when = scan.scanned_at
    later = Ticket.last_scanned_at.is_null() | (Ticket.last_scanned_at < when)
    row = next(iter(Ticket.update(
        scan_count=Ticket.scan_count + 1, status=Case(None, [(Ticket.status == "valid", "checked_in")], Ticket.status),
        first_scanned_at=Case(None, [(Ticket.first_scanned_at.is_null() | (Ticket.first_scanned_at > when), when)],
                              Ticket.first_scanned_at),
        last_scanned_at=Case(None, [(later, when)], Ticket.last_scanned_at),
        last_scan_point=Case(None, [(later, scan.scan_point)], Ticket.last_scan_point), updated_at=now)
        .where((Ticket.id == ticket.id) & (Ticket.org == org.id)).returning(*TICKET_FIELDS).execute()))
    counted = _with_type(row)
    at_session = _session_verdict(org.id, counted, door) if door.event_id != counted.event_id else None
    if at_session is None:
        broken = door_rules.refusal(counted, door, scans=counted.scan_count - 1)
    else:  # a pass at one of its event's sessions: the session's own count, as an online scan there
        broken, participation = at_session
        _count_offline_session_entry(org.id, counted, participation, door.event_id, now)
    _announced(org, Admission(counted, record))
    return OfflineRecord(True, counted, broken, record)


def _count_offline_session_entry(org_id: str, ticket: Ticket, participation: Participation | None, session_id: str,
                                 now) -> None:
    """Count an uploaded admission of a pass at a session, without a limit (it happened): on the holder's
    participation when they attend, on the pass's admission row for a 003 pass; nothing when they do not
    attend (the admission broke `not_registered_for_session`)."""
    if not door_rules.needs_session_choice(ticket.ticket_type):
        _count_pass_entry(org_id, ticket, session_id, None, now)
    elif participation is not None:
        _count_participant_entry(participation, None, now)


UNDONE = "undone"  # the scan log's `result` of a check-in reversed by hand


def undo_check_in(org, identity: Identity, ticket_id: str, reason: str = "") -> Admission:
    """Reverse a mistaken check-in (attendance set back to false): the checked-in ticket is valid again with no
    scans (one conditional UPDATE: of two racing undos one wins), and the scan log records `undone` with who
    did it (`identity.sub`) and `reason`, in the same transaction. 404 `ticket_not_found`, 409
    `not_checked_in` (nothing to undo; nothing changes). A session's or pass's own admission counts are kept."""
    now = utcnow()
    with write_transaction():
        undone = 0
        if isinstance(ticket_id, str) and len(ticket_id) <= 64:
            undone = (Ticket.update(status="valid", scan_count=0, first_scanned_at=None, last_scanned_at=None,
                                    last_scan_point=None, updated_at=now)
                      .where((Ticket.id == ticket_id) & (Ticket.org == org.id) & (Ticket.status == "checked_in"))
                      .execute())
        ticket = _load(org.id, ticket_id)
        if ticket is None:
            raise NotFound(f"No ticket with id {ticket_id!r}.", type="ticket_not_found")
        if undone != 1:
            raise Conflict("This ticket is not checked in; there is nothing to undo.", type="not_checked_in",
                           ticket=ticket_summary(ticket))
        record = CheckIn.create(id=new_id(), org=org.id, ticket=ticket.id, event=ticket.event_id, scan_point=None,
                                result=UNDONE, staff=identity.sub, note=reason or None, created_at=now,
                                updated_at=now)
        audit.record(org, "check_in.undone", "ticket", ticket.id, before={"status": "checked_in"},
                     after={"status": "valid", "reason": reason, "check_in_id": record.id})
    return Admission(ticket, record, admitted=False)


def forget_scans(org_id: str, event_ids: list[str]) -> int:
    """Delete the scan log rows recorded at `event_ids`, and the events' door devices and conflicts (called with
    the events' own deletion, in its transaction: on PostgreSQL the log keeps no foreign keys, see migration 4);
    returns how many scan log rows."""
    PassAdmission.delete().where((PassAdmission.org == org_id) & PassAdmission.session_id.in_(event_ids)).execute()
    DoorDevice.delete().where((DoorDevice.org == org_id) & DoorDevice.event_id.in_(event_ids)).execute()
    DoorConflict.delete().where((DoorConflict.org == org_id) & DoorConflict.event_id.in_(event_ids)).execute()
    return CheckIn.delete().where((CheckIn.org == org_id) & CheckIn.event.in_(event_ids)).execute()


# --- sessions: a parent event's ticket (a pass) scanned at one of its sessions -------------------------------

def _parent_of_session(org_id: str, event_id: str) -> str | None:
    """The parent event id when `event_id` is one of the tenant's sessions, else None."""
    def load() -> str | None:
        event = (Event.select(Event.parent).where((Event.id == event_id) & (Event.org == org_id)).first()
                 if len(event_id) <= 64 else None)
        return event.parent_event_id if event else None

    return _PARENTS.get((org_id, event_id), load)


def _session_verdict(org_id: str, ticket: Ticket, door: Door) -> tuple[str | None, Participation | None] | None:
    """(reason or None, the holder's participation) for a parent event's ticket scanned at one of its sessions;
    None for every other scan (the ticket rules alone decide).

    The ticket's rules apply with the door's session as the event and the admissions counted on the holder's
    participation, which must attend the session (`SESSION_RULE`); a 003 pass needs no participation and
    counts its admissions at that session (`PassAdmission`). Reads only; the UPDATE stays authoritative.
    """
    if not isinstance(door.event_id, str) or door_rules.is_forged(ticket, door):
        return None
    parent_id = _parent_of_session(org_id, door.event_id)
    if parent_id is None or ticket.event_id != parent_id:
        return None
    at_parent = door.at_event(None)
    reason = door_rules.refusal(ticket, at_parent, skip=("already_used",))
    if reason is not None:
        return reason, None
    if not door_rules.needs_session_choice(ticket.ticket_type):
        entries = (PassAdmission.select(PassAdmission.scan_count)
                   .where((PassAdmission.org == org_id) & (PassAdmission.ticket_id == ticket.id)
                          & (PassAdmission.session_id == door.event_id)).first())
        return door_rules.refusal(ticket, at_parent, scans=entries.scan_count if entries else 0), None
    row = (scoped(Participation, org_id)
           .where((Participation.session == door.event_id) & (Participation.customer == ticket.customer_id)
                  & Participation.status.in_(door_rules.SESSION_RULE.params["participationStatuses"])).first()
           ) if ticket.customer_id else None
    if row is None:
        return door_rules.SESSION_RULE.name, None
    return door_rules.refusal(ticket, at_parent, scans=row.scan_count), row


def _check_in_at_session(org, ticket_id: str, door: Door, staff: str | None) -> Admission | None:
    """Admit a pass at a session its holder attends (a 003 pass: at any session of its parent): the session's
    conditional UPDATE (`scan_count < limit`, on the participation or the pass's admission row) and the
    ticket's admit together. None when this is no such scan."""
    org_id = org.id
    if not door.event_id or _parent_of_session(org_id, door.event_id) is None:
        return None
    ticket = _load(org_id, ticket_id)
    verdict = _session_verdict(org_id, ticket, door) if ticket else None
    if verdict is None:
        return None
    reason, row = verdict
    if reason is None:
        admission = _admit_at_session(org, ticket, row, door, staff)
        if admission is not None:
            return admission
        reason = "already_used"
    _log(org_id, ticket, door.event_id, door.scan_point, reason, staff)
    if reason == "already_used":
        raise ApiError("This ticket has already been checked in to this session.", status=409,
                       type=RULES[reason].type, reason=reason, sessionId=door.event_id, ticket=ticket_summary(ticket))
    if reason == door_rules.SESSION_RULE.name:
        raise refused_error(reason, ticket, sessionId=door.event_id)
    raise refused_error(reason, ticket)


def _count_participant_entry(row: Participation, limit: int | None, now) -> bool:
    """One more entry on the holder's participation, while it attends and is under the limit."""
    seat = row.row_condition() & Participation.status.in_(
        door_rules.SESSION_RULE.params["participationStatuses"])
    if limit is not None:
        seat &= Participation.scan_count < limit
    return Participation.update(scan_count=Participation.scan_count + 1, updated_at=now,
                                first_scanned_at=fn.COALESCE(Participation.first_scanned_at, now)
                                ).where(seat).execute() == 1


def _count_pass_entry(org_id: str, ticket: Ticket, session_id: str, limit: int | None, now) -> bool:
    """One more entry of a 003 pass at one session, while under the limit: the session's counter row is made
    once (a racing twin's insert is ignored), then one conditional UPDATE decides."""
    PassAdmission.insert(id=new_id(), org=org_id, ticket_id=ticket.id, session_id=session_id, scan_count=0,
                         created_at=now, updated_at=now).on_conflict_ignore().execute()
    entry = ((PassAdmission.org == org_id) & (PassAdmission.ticket_id == ticket.id)
             & (PassAdmission.session_id == session_id))
    if limit is not None:
        entry &= PassAdmission.scan_count < limit
    return PassAdmission.update(scan_count=PassAdmission.scan_count + 1, updated_at=now,
                                first_scanned_at=fn.COALESCE(PassAdmission.first_scanned_at, now)
                                ).where(entry).execute() == 1


def _admit_at_session(org, ticket: Ticket, row: Participation | None, door: Door,
                      staff: str | None) -> Admission | None:
    org_id = org.id
    limit = door_rules.scan_limit(ticket.ticket_type)
    now = utcnow()
    with write_transaction():
        counted = (_count_participant_entry(row, limit, now) if door_rules.needs_session_choice(ticket.ticket_type)
                   else _count_pass_entry(org_id, ticket, door.event_id, limit, now))
        if not counted:
            return None
        admitted = _admit(org_id, ticket.id, door.at_event(None), skip=("already_used",))
        if admitted is None:
            raise refused_error("revoked", ticket)  # rolls the session's count back
        record = _log(org_id, ticket, door.event_id, door.scan_point, "admitted", staff)
        return _announced(org, Admission(admitted, record))

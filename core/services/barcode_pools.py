"""Barcode pools: a ticket configuration's staff-uploaded codes, which its tickets take instead of signed QRs.

The one home of the pool's rules: reading an upload (CSV), counting and listing, deleting an unused code,
reserving codes for a held booking, taking them when tickets are issued, and finding a ticket by its code at
the door. Never hands one code to two tickets or two holds: a code is picked under a row lock (`FOR UPDATE
SKIP LOCKED` on PostgreSQL, whose re-check of a row changed meanwhile sees its new ticket or booking; SQLite's
write transaction is exclusive) in the transaction that then marks it. Knows nothing of HTTP.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from peewee import Case, Value, fn

from core.db import is_sqlite, write_transaction
from core.errors import ApiError, Conflict, NotFound
from core.models import BarcodePoolCode, Booking, TicketConfiguration, TicketType, new_id, utcnow
from core.services.ticket_configurations import configuration_of, get_configuration
from core.tenancy import along, scoped

MIN_LENGTH, MAX_LENGTH = 4, 128
MAX_CODES_PER_UPLOAD = 200_000
HEADERS = ("barcode", "code")  # a first row holding one of these (any case) is a header, not a code
SIGNED_PREFIX = ("BO1:", "BO2:")  # the signed QR's prefixes (`qr.PREFIX`, `qr.LIVE_PREFIX`): never pool codes
_BATCH = 500  # rows per INSERT and per IN (...) lookup


class BarcodePoolExhausted(Conflict):
    """409 `barcode_pool_exhausted`: a configuration's pool has fewer unused codes than the tickets need."""

    type = "barcode_pool_exhausted"


class InvalidCsv(ApiError):
    """422 `invalid_csv`: the upload is not a readable CSV file of codes."""

    status, type = 422, "invalid_csv"


@dataclass
class UploadResult:
    """What an upload did: codes added, codes already in the tenant's pools or repeated in the file, and the
    lines refused with why (`{line, reason}`)."""

    added: int = 0
    duplicates: int = 0
    invalid: list[dict] = field(default_factory=list)


@dataclass(frozen=True)
class PoolCounts:
    """A pool's codes: all of them, used by a ticket, reserved for a pending booking, free to take."""

    total: int
    used: int
    reserved: int

    @property
    def available(self) -> int:
        """Codes a new booking can take."""
        return self.total - self.used - self.reserved


# --- the configuration and its codes ---------------------------------------------------------------------

def _org_id(org) -> str:
    return org if isinstance(org, str) else org.id


def _ended(now):
    """The code's booking no longer holds it: this statement sees it confirmed, expired or cancelled, or past
    its expiry (a hold's codes go back with its seats, with nothing to clean up). A booking the statement cannot
    see yet (a hold committing concurrently) still holds it, so when PostgreSQL re-checks a row another
    transaction just reserved, the row stays reserved."""
    return fn.EXISTS(Booking.select(Value(1)).where(
        along(BarcodePoolCode.booking, Booking) & ((Booking.status != "pending") | (Booking.expires_at <= now))))


def _free(now, booking_id: str | None = None):
    """Codes no ticket used and no live hold reserved (other than `booking_id`'s, which are taken first)."""
    unreserved = BarcodePoolCode.booking.is_null() | _ended(now)
    if booking_id is not None:
        unreserved &= BarcodePoolCode.booking.is_null() | (BarcodePoolCode.booking != booking_id)
    return BarcodePoolCode.ticket.is_null() & unreserved


def counts(org, configuration: TicketConfiguration) -> PoolCounts:
    """Total, used and reserved codes of a configuration's pool (one query)."""
    now = utcnow()
    used = BarcodePoolCode.ticket.is_null(False)
    reserved = BarcodePoolCode.ticket.is_null() & BarcodePoolCode.booking.is_null(False) & ~_ended(now)
    row = (scoped(BarcodePoolCode, org, fn.COUNT(BarcodePoolCode.id), fn.SUM(Case(None, [(used, 1)], 0)),
                  fn.SUM(Case(None, [(reserved, 1)], 0)))
           .where(BarcodePoolCode.configuration == configuration.id).tuples().first())
    return PoolCounts(*(int(value or 0) for value in row))


def codes_query(org, configuration: TicketConfiguration):
    """The configuration's codes (for a paginated list)."""
    return scoped(BarcodePoolCode, org).where(BarcodePoolCode.configuration == configuration.id)


def delete_code(org, configuration_id, code_id) -> None:
    """Delete an unused, unreserved code; 404 `barcode_not_found`, 409 `barcode_used` / `barcode_reserved`."""
    configuration = get_configuration(org, configuration_id)
    now = utcnow()
    with write_transaction():
        code = (scoped(BarcodePoolCode, org).where((BarcodePoolCode.configuration == configuration.id)
                                                   & (BarcodePoolCode.id == str(code_id)[:64])).first())
        if code is None:
            raise NotFound(f"No barcode with id {code_id!r} in this pool.", type="barcode_not_found")
        gone = BarcodePoolCode.delete().where(code.row_condition() & _free(now)).execute()
    if gone == 1:
        return
    if code.ticket_id is not None:
        raise Conflict("This code was used by a ticket; it stays in the pool as the ticket's code.",
                       type="barcode_used", ticketId=code.ticket_id)
    raise Conflict("This code is reserved for a booking waiting for payment; try again once the hold ends.",
                   type="barcode_reserved")


# --- upload ------------------------------------------------------------------------------------------------

def _refusal(code: str) -> str | None:
    """Why `code` (trimmed) cannot be a pool code, or None."""
    if not code:
        return "empty"
    if len(code) < MIN_LENGTH:
        return "too_short"
    if len(code) > MAX_LENGTH:
        return "too_long"
    if not code.isprintable():
        return "not_printable"
    if code.startswith(SIGNED_PREFIX):
        return "reserved_prefix"
    return None


def read_csv(data: bytes) -> tuple[list[str], list[dict], int]:
    """(the valid codes in file order, the refused lines `{line, reason}`, codes repeated in the file) of a CSV
    whose first column holds one code per row; a first row `barcode`/`code` is a header; blank rows are skipped.
    422 `invalid_csv` when the bytes are not UTF-8 text CSV or hold no row at all."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidCsv(f"The file is not UTF-8 text (byte {exc.start}); save it as UTF-8 CSV.") from exc
    codes: dict[str, None] = {}
    invalid: list[dict] = []
    repeated = rows = 0
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        for row in reader:
            if not row or not any(cell.strip() for cell in row):
                continue
            rows += 1
            code = row[0].strip()
            if rows == 1 and code.lower() in HEADERS:
                continue
            if rows > MAX_CODES_PER_UPLOAD:
                raise InvalidCsv(f"Upload at most {MAX_CODES_PER_UPLOAD:,} codes at a time; split the file.",
                                 type="too_many_codes")
            reason = _refusal(code)
            if reason is not None:
                invalid.append({"line": reader.line_num, "reason": reason})
            elif code in codes:
                repeated += 1
            else:
                codes[code] = None
    except csv.Error as exc:
        raise InvalidCsv(f"The file is not valid CSV (line {reader.line_num}: {exc}).") from exc
    if rows == 0:
        raise InvalidCsv("The file holds no codes: one code per row, in the first column.")
    return list(codes), invalid, repeated


def _chunks(items: list, size: int = _BATCH) -> Iterable[tuple[int, list]]:
    for start in range(0, len(items), size):
        yield start, items[start:start + size]


def upload(org, configuration_id, read_file: Callable[[], bytes]) -> UploadResult:
    """Add a CSV's codes to a configuration's pool (bulk inserts, one transaction); codes already in any of the
    tenant's pools, or repeated in the file, are counted as duplicates and not inserted again. Each code's
    `created_at` is the upload's time plus its position in microseconds, so the list keeps the file's order.
    `read_file` gives the file's bytes; it is called once the configuration is found, so another tenant's id
    is a 404 whatever the body holds."""
    configuration = get_configuration(org, configuration_id)
    codes, invalid, repeated = read_csv(read_file())
    org_id = _org_id(org)
    result = UploadResult(duplicates=repeated, invalid=invalid)
    now = utcnow()
    with write_transaction():
        for start, batch in _chunks(codes):
            taken = {row.code for row in scoped(BarcodePoolCode, org_id, BarcodePoolCode.code)
                     .where(BarcodePoolCode.code.in_(batch))}
            rows = [{"id": new_id(), "org": org_id, "configuration": configuration.id, "code": code,
                     "created_at": now + dt.timedelta(microseconds=position), "updated_at": now}
                    for position, code in enumerate(batch, start=start) if code not in taken]
            added = (BarcodePoolCode.insert_many(rows).on_conflict_ignore().as_rowcount().execute()
                     if rows else 0)  # a concurrent upload of the same code: ignored here, counted below
            result.added += added
            result.duplicates += len(batch) - added
    return result


# --- reserving and taking codes ------------------------------------------------------------------------------

def enforcing_configuration(ticket_type: TicketType) -> TicketConfiguration | None:
    """The ticket type's configuration when it enforces a barcode pool, else None (no query without one)."""
    configuration = configuration_of(ticket_type)
    return configuration if configuration is not None and configuration.enforce_barcode_pool else None


def _locked(query):
    """`query` locking the rows it returns, skipping rows another transaction holds (PostgreSQL); SQLite's write
    transaction already excludes every other writer."""
    return query if is_sqlite() else query.for_update(skip_locked=True)


def _pick(org_id: str, configuration: TicketConfiguration, count: int, booking_id: str | None,
          now) -> list[BarcodePoolCode]:
    """Up to `count` codes for this booking (its own reservation first, then free ones), locked until the commit."""
    base = scoped(BarcodePoolCode, org_id, BarcodePoolCode.id, BarcodePoolCode.code).where(
        BarcodePoolCode.configuration == configuration.id)
    picked = []
    if booking_id is not None:
        picked = list(_locked(base.where(BarcodePoolCode.ticket.is_null() & (BarcodePoolCode.booking == booking_id))
                              .limit(count)))
    if len(picked) < count:
        picked += list(_locked(base.where(_free(now, booking_id)).limit(count - len(picked))))
    if len(picked) < count:
        left = counts(org_id, configuration).available
        raise BarcodePoolExhausted(
            f"The barcode pool of {configuration.name!r} has {left} unused code(s) left and {count} are needed. "
            f"Staff must upload more codes (POST /ticket-configurations/{configuration.id}/barcodes) or turn "
            "the configuration's enforce_barcode_pool off before these tickets can be sold; nothing was charged.",
            ticketConfigurationId=configuration.id, available=left, requested=count)
    return picked


def reserve(org, booking: Booking, wanted: list[tuple[TicketType, int]]) -> None:
    """Reserve codes for a booking being held (`wanted`: ticket type, tickets it will issue) while its hold lasts;
    409 `barcode_pool_exhausted` when a pool has too few, raised inside the hold's transaction so nothing is
    held or charged. Types whose configuration enforces no pool are skipped."""
    needed: dict[str, int] = {}
    configurations: dict[str, TicketConfiguration] = {}
    for ticket_type, tickets in wanted:
        configuration = enforcing_configuration(ticket_type)
        if configuration is not None:
            configurations[configuration.id] = configuration
            needed[configuration.id] = needed.get(configuration.id, 0) + tickets
    now = utcnow()
    for configuration_id, count in sorted(needed.items()):
        picked = _pick(_org_id(org), configurations[configuration_id], count, None, now)
        (BarcodePoolCode.update(booking=booking.id, updated_at=now)
         .where((BarcodePoolCode.org == booking.org_id) & BarcodePoolCode.id.in_([code.id for code in picked]))
         .execute())


@dataclass
class TakenCodes:
    """Codes picked for tickets about to be inserted: `codes[i]` is the i-th ticket's (`bind` records it)."""

    org_id: str
    ids: list[str]
    codes: list[str]

    def ticket_data(self, index: int) -> dict:
        """The `data` of the ticket at `index`: its pool code (`barcode`)."""
        return {"barcode": self.codes[index]}

    def bind(self, ticket_ids: list[str]) -> None:
        """Mark each code used by its ticket (same order), in the issuing transaction."""
        now = utcnow()
        for (_, ids), (_, tickets) in zip(_chunks(self.ids), _chunks(ticket_ids), strict=True):
            (BarcodePoolCode.update(ticket=Case(BarcodePoolCode.id, list(zip(ids, tickets, strict=True))),
                                    used_at=now, updated_at=now)
             .where((BarcodePoolCode.org == self.org_id) & BarcodePoolCode.id.in_(ids)
                    & BarcodePoolCode.ticket.is_null()).execute())


def take(org, ticket_type: TicketType, count: int, booking_id: str | None = None) -> TakenCodes | None:
    """Pick `count` codes for new tickets of `ticket_type` (the booking's reservation first), or None when its
    configuration enforces no pool; 409 `barcode_pool_exhausted` when too few are left. Call inside the
    issuing write transaction, then `bind` the codes to the inserted tickets."""
    configuration = enforcing_configuration(ticket_type)
    if configuration is None or count == 0:
        return None
    picked = _pick(_org_id(org), configuration, count, booking_id, utcnow())
    return TakenCodes(_org_id(org), [code.id for code in picked], [code.code for code in picked])


# --- the door ---------------------------------------------------------------------------------------------------

def is_pool_code(text: object) -> bool:
    """True when a scanned text can only be a pool code (not a signed QR payload)."""
    return isinstance(text, str) and not text.startswith(SIGNED_PREFIX)


def ticket_for_code(org_id: str, code: str) -> str | None:
    """The id of the ticket that took `code` in this tenant, or None: one lookup on the `(org, code)` index."""
    text = code.strip()
    if not MIN_LENGTH <= len(text) <= MAX_LENGTH:
        return None
    row = (BarcodePoolCode.select(BarcodePoolCode.ticket)
           .where((BarcodePoolCode.org == org_id) & (BarcodePoolCode.code == text)).tuples().first())
    return row[0] if row else None

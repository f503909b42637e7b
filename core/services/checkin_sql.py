"""The door's SQL: one statement that admits a ticket, built once per shape of scan.

Every admission rule is in the UPDATE's WHERE clause (live status, signed secret version and event,
the event the door scans for, the re-entry limit, exact scan-point membership), so concurrent scans of one
ticket admit it at most its limit: the database re-checks the WHERE on the row it locks.

On PostgreSQL the statement does the whole scan in one round trip: it admits and logs, or, when the ticket
is not admitted, returns it with the reason and logs the refusal (data-modifying CTEs). The reasons follow
`core.services.checkin.refusal`, in the same order; tests run every refusal through both. SQLite has no
data-modifying CTEs: there the statement is the UPDATE ... RETURNING alone.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from core.models import CheckIn, Ticket, TicketType

ADMITTABLE = ("valid", "checked_in")
REVOKED = ("cancelled", "refunded", "transferred", "refunding")
TICKET_COLUMNS = tuple(f.column_name for f in Ticket._meta.sorted_fields)
LOG_COLUMNS = ("id", "org_id", "ticket_id", "event_id", "scan_point", "result", "staff", "created_at", "updated_at")


@dataclass(frozen=True)
class ScanShape:
    """What a scan supplies beyond the ticket id; each combination is its own statement."""

    sqlite: bool
    version: bool  # a QR: its signed secret version (and event hash) must match
    event: bool  # the door scans for one event
    point: bool  # the door names its scan point

    def params(self, *, ticket_id: str, org_id: str, stamp, version: int | None, event_hash: bytes | None,
               event_id: str | None, scan_point: str | None) -> dict:
        """The statement's parameters (PostgreSQL's log parameters are added by the caller)."""
        values = {"id": ticket_id, "org": org_id, "now": stamp, "point": scan_point}
        if self.version:
            values.update(version=version, event_hash=event_hash)
        if self.event:
            values["event"] = event_id
        return values


def _quoted(constants) -> str:
    """Our own status constants as SQL literals (never user input)."""
    return ", ".join(f"'{value}'" for value in constants)


def _param(shape: ScanShape, name: str) -> str:
    return f":{name}" if shape.sqlite else f"%({name})s"


# The ticket is `t`, its type (joined on t.ticket_type_id) is `r`.
_LIMIT = 'CASE WHEN r."allow_reentry" THEN COALESCE(r."reentry_limit", 2147483647) ELSE 1 END'


def _point_accepted(shape: ScanShape) -> str:
    """The type accepts every point (no list) or lists this one exactly."""
    member = "FALSE"
    if shape.point and shape.sqlite:
        member = 'EXISTS (SELECT 1 FROM json_each(r."accepted_scan_points") AS j WHERE j.value = :point)'
    elif shape.point:
        member = 'jsonb_exists(r."accepted_scan_points"::jsonb, %(point)s)'
    return f"(COALESCE(r.\"accepted_scan_points\", '[]') = '[]' OR {member})"


def _event_hash_matches(shape: ScanShape) -> str:
    """The QR's signed event binding (first 8 bytes of SHA-256 of the event id), on PostgreSQL."""
    return f"substring(sha256(convert_to(t.\"event_id\", 'UTF8')) from 1 for 8) = {_param(shape, 'event_hash')}"


def _admission_rules(shape: ScanShape) -> list[str]:
    p = functools.partial(_param, shape)
    rules = [f't."id" = {p("id")}', f't."org_id" = {p("org")}', 'r."id" = t."ticket_type_id"',
             f't."status" IN ({_quoted(ADMITTABLE)})', f't."scan_count" < {_LIMIT}', _point_accepted(shape)]
    if shape.version:
        rules.append(f't."secret_version" = {p("version")}')
        if not shape.sqlite:
            rules.append(_event_hash_matches(shape))
    if shape.event:
        rules.append(f't."event_id" = {p("event")}')
    return rules


def _update(shape: ScanShape) -> str:
    p = functools.partial(_param, shape)
    qualifier = "" if shape.sqlite else "t."  # SQLite's RETURNING sees only the target; PostgreSQL needs it
    columns = ", ".join(f'{qualifier}"{c}"' for c in TICKET_COLUMNS)
    return (f'UPDATE "{Ticket._meta.table_name}" AS t SET "status" = \'checked_in\', '
            f'"scan_count" = t."scan_count" + 1, "last_scanned_at" = {p("now")}, '
            f'"first_scanned_at" = COALESCE(t."first_scanned_at", {p("now")}), "last_scan_point" = {p("point")}, '
            f'"updated_at" = {p("now")} FROM "{TicketType._meta.table_name}" AS r '
            f'WHERE {" AND ".join(_admission_rules(shape))} RETURNING {columns}')


def _reason(shape: ScanShape) -> str:
    """Why the ticket (row t) is not admitted, as `refusal` answers; NULL when nothing is wrong (the
    UPDATE lost a race and the caller looks again)."""
    cases = []
    if shape.version:
        cases.append(f"WHEN NOT {_event_hash_matches(shape)} THEN 'forged'")
    if shape.event:
        cases.append("WHEN t.\"event_id\" <> %(event)s THEN 'wrong_event'")
    cases.append(f"WHEN t.\"status\" IN ({_quoted(REVOKED)}) THEN 'revoked'")
    if shape.version:
        cases.append("WHEN t.\"secret_version\" <> %(version)s THEN 'revoked'")
    cases += ["WHEN t.\"status\" = 'pending_activation' THEN 'not_activated'",
              f"WHEN NOT {_point_accepted(shape)} THEN 'scan_point_not_accepted'",
              f"WHEN t.\"scan_count\" >= {_LIMIT} THEN 'already_used'"]
    return f"CASE {' '.join(cases)} END"


@functools.lru_cache(maxsize=64)
def scan_sql(shape: ScanShape) -> str:
    """The statement for `shape`. Its rows: `(outcome, *ticket columns)` on PostgreSQL, where outcome is
    'admitted', a refusal reason, or NULL (look again); none when the tenant has no such ticket. On SQLite,
    the admitted ticket's columns, or no row."""
    if shape.sqlite:
        return _update(shape)
    ticket = Ticket._meta.table_name
    columns = ", ".join(f'"{c}"' for c in TICKET_COLUMNS)
    t_columns = ", ".join(f't."{c}"' for c in TICKET_COLUMNS)
    log = ", ".join(f'"{c}"' for c in LOG_COLUMNS)

    def log_row(result: str) -> str:
        return f'%(log_id)s, "org_id", "id", "event_id", %(point)s, {result}, %(staff)s, %(now)s, %(now)s'

    return (
        f"WITH admitted AS ({_update(shape)}), "
        f"refused AS (SELECT {_reason(shape)} AS reason, {t_columns} FROM \"{ticket}\" AS t "
        f'JOIN "{TicketType._meta.table_name}" AS r ON r."id" = t."ticket_type_id" '
        f'WHERE t."id" = %(id)s AND t."org_id" = %(org)s AND NOT EXISTS (SELECT 1 FROM admitted)), '
        f'logged AS (INSERT INTO "{CheckIn._meta.table_name}" ({log}) '
        f"SELECT {log_row(_quoted(['admitted']))} FROM admitted "
        f"UNION ALL SELECT {log_row('reason')} FROM refused "
        f"WHERE reason IS NOT NULL AND reason <> 'forged') "
        f"SELECT 'admitted', {columns} FROM admitted UNION ALL SELECT reason, {columns} FROM refused"
    )

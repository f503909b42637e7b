"""The audit log's reading side: a tenant's audit rows filtered (actor, action, record, time range), newest
first, in cursor pages for the API and in batches for the streamed CSV export.

Reads only: never writes, changes or deletes an audit row (`core.services.audit` writes them).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass

from core.models import AuditEntry, Org
from core.pagination import Page, SortKey, paginate_cursor
from core.tenancy import scoped
from core.timefmt import iso_utc, to_utc_naive

AUDIT_KEYS = (SortKey("at", AuditEntry.created_at, "datetime", descending=True, attr="created_at"),
              SortKey("id", AuditEntry.id, descending=True))
EXPORT_BATCH = 500
CSV_COLUMNS = ("at", "actor_kind", "actor_id", "actor_label", "action", "record_type", "record_id", "before",
               "after", "address", "request_id", "id")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""A CSV cell starting with one of these is prefixed with `'`, so a spreadsheet never runs it as a formula."""


@dataclass(frozen=True)
class AuditFilter:
    """Which rows to show: by actor id and/or kind, action, record type and/or id, and a time range (`since`
    inclusive, `until` exclusive; aware times are taken in their zone, naive ones as UTC)."""

    actor: str | None = None
    actor_kind: str | None = None
    action: str | None = None
    record_type: str | None = None
    record_id: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None


def _query(org: Org | str, wanted: AuditFilter):
    """The tenant's audit rows that `wanted` selects (unordered)."""
    query = scoped(AuditEntry, org)
    for column, value in ((AuditEntry.actor_id, wanted.actor), (AuditEntry.actor_kind, wanted.actor_kind),
                          (AuditEntry.action, wanted.action), (AuditEntry.record_type, wanted.record_type),
                          (AuditEntry.record_id, wanted.record_id)):
        if value is not None:
            query = query.where(column == value)
    if wanted.since is not None:
        query = query.where(AuditEntry.created_at >= to_utc_naive(wanted.since))
    if wanted.until is not None:
        query = query.where(AuditEntry.created_at < to_utc_naive(wanted.until))
    return query


def audit_page(org: Org | str, wanted: AuditFilter, *, size: int, cursor: str | None) -> Page:
    """One page of the tenant's audit rows that `wanted` selects, newest first (400 `invalid_cursor` for a
    cursor this list did not issue)."""
    return paginate_cursor(_query(org, wanted), AUDIT_KEYS, size, cursor)


def export_rows(org: Org | str, wanted: AuditFilter, batch: int = EXPORT_BATCH) -> Iterator[AuditEntry]:
    """Every audit row `wanted` selects, newest first, read `batch` rows at a time (one keyset query each, so
    an export of any length holds one batch in memory)."""
    cursor = None
    while True:
        page = audit_page(org, wanted, size=batch, cursor=cursor)
        yield from page.rows
        if page.last:
            return
        cursor = page.next_cursor


def _cell(value) -> str:
    """A CSV cell: JSON for before/after, text otherwise, guarded against spreadsheet formulas."""
    text = "" if value is None else value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return "'" + text if text.startswith(FORMULA_START) else text


def entry_values(entry: AuditEntry) -> dict:
    """One row's columns (`CSV_COLUMNS`), times in ISO 8601 UTC."""
    return {"at": iso_utc(entry.created_at), "actor_kind": entry.actor_kind, "actor_id": entry.actor_id,
            "actor_label": entry.actor_label, "action": entry.action, "record_type": entry.record_type,
            "record_id": entry.record_id, "before": entry.before, "after": entry.after,
            "address": entry.address, "request_id": entry.request_id, "id": entry.id}


def csv_lines(org: Org | str, wanted: AuditFilter) -> Iterator[str]:
    """The export as CSV text, one line at a time: a header of `CSV_COLUMNS`, then each row newest first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(cells) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(cells)
        return buffer.getvalue()

    yield line(CSV_COLUMNS)
    for entry in export_rows(org, wanted):
        values = entry_values(entry)
        yield line([_cell(values[name]) for name in CSV_COLUMNS])

"""A streamed CSV download: the one way a route answers a CSV export (the audit log, a plugin's report).

Builds the response only; the caller has read (and refused, with a 4xx) before the first line streams.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import Response, stream_with_context

CSV_TYPE = "text/csv"


def csv_answer(lines: Iterable[str], filename: str) -> Response:
    """`lines` streamed as a `text/csv` attachment named `filename`, never cached."""
    response = Response(stream_with_context(lines), mimetype=CSV_TYPE)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response

"""How the app's log lines look: text (`core.request_id.LOG_FORMAT`) or, with BOXOFFICE_LOG_FORMAT=json, one JSON
object per line, every record alike, plus one access line per request (`log_request`).

Formats records only: never adds a field that could carry a secret (no raw path, query string, header or body).
"""

from __future__ import annotations

import datetime as dt
import logging

import orjson

from core.request_id import install_log_filter

ACCESS_LOGGER = "boxoffice.access"
_access = logging.getLogger(ACCESS_LOGGER)
_state = {"access_lines": False}


class JsonFormatter(logging.Formatter):
    """One JSON object per record: `time` (UTC, ms), `level`, `logger`, `message`, `request_id`, the record's
    `fields` (the access line's) and `exception` when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as a single line of JSON."""
        entry = {"time": dt.datetime.fromtimestamp(record.created, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
                 "level": record.levelname, "logger": record.name, "message": record.getMessage(),
                 "request_id": getattr(record, "request_id", "-")}
        entry.update(getattr(record, "fields", None) or {})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return orjson.dumps(entry, default=str).decode()


def configure_logging(log_format: str) -> None:
    """Give the root logger's handlers the request id (`install_log_filter`); for `json` also the JSON
    formatter on each of them, and turn the per-request access line on (INFO on `boxoffice.access`)."""
    install_log_filter()
    json_lines = log_format == "json"
    _state["access_lines"] = json_lines
    _access.setLevel(logging.INFO if json_lines else logging.NOTSET)
    if json_lines:
        formatter = JsonFormatter()
        for handler in logging.getLogger().handlers:
            handler.setFormatter(formatter)


def access_lines() -> bool:
    """True when every answered request writes its access line (BOXOFFICE_LOG_FORMAT=json)."""
    return _state["access_lines"]


def log_request(*, method: str, route: str, status: int, duration_ms: float, tenant: str | None) -> None:
    """The access line of one answered request: its method, route (the URL rule, never the raw path), status,
    duration and tenant; the request id comes with every record."""
    _access.info("%s %s %d %.1f ms", method, route, status, duration_ms,
                 extra={"fields": {"method": method, "route": route, "status": status,
                                   "duration_ms": round(duration_ms, 3), "tenant": tenant}})

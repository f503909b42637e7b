"""Request ids: every answer carries `X-Request-ID` (the client's if it is sane, else a new one), and the same id
is on the app's log records for that request (`request_id`) and in 5xx bodies (`requestId`).

Never trusts a client's id beyond its shape, and never does more per request than one regex match and a counter.
"""

from __future__ import annotations

import itertools
import logging
import os
import re

from apispec import APISpec, BasePlugin
from flask import Response, g, has_request_context, request

HEADER = "X-Request-ID"
SANE_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
LOG_FORMAT = "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"
"""The documented log line format: the request id in brackets (`-` outside a request)."""


class _IdSource:
    """Unique ids without a uuid4 per request: a random per-process prefix and a counter (renewed in a forked
    worker, so two workers never share a prefix)."""

    def __init__(self):
        self.renew()

    def renew(self) -> None:
        """A new random prefix and a counter from 1 (at start-up and in every forked child)."""
        self.prefix = os.urandom(8).hex()
        self.counter = itertools.count(1)

    def next_id(self) -> str:
        """The next id, e.g. `3f9c0a1be27d4c55-1a`."""
        return f"{self.prefix}-{next(self.counter):x}"


_ids = _IdSource()
os.register_at_fork(after_in_child=_ids.renew)


def current_request_id() -> str:
    """This request's id (the client's sane `X-Request-ID`, else a new one, chosen once per request); `-`
    outside a request."""
    if not has_request_context():
        return "-"
    rid = g.get("request_id")
    if rid is None:
        sent = request.headers.get(HEADER)
        rid = g.request_id = sent if sent and SANE_ID.fullmatch(sent) else _ids.next_id()
    return rid


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every record it sees (attach it to a handler; `LOG_FORMAT` prints it)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Set `record.request_id` and keep the record."""
        record.request_id = current_request_id()
        return True


HEADER_DOC = {"description": "The request's id: the client's `X-Request-ID` if it was 1-128 characters of "
                             "`A-Za-z0-9._-`, else a new one. Also in the server's log lines for the request and "
                             "in 5xx bodies (`requestId`).",
              "schema": {"type": "string", "maxLength": 128, "pattern": "^[A-Za-z0-9._-]+$"}}
HEADER_REF = {"$ref": f"#/components/headers/{HEADER}"}


class RequestIdHeaderPlugin(BasePlugin):
    """apispec plugin: the shared `X-Request-ID` header component, referenced by every documented response."""

    def init_spec(self, spec: APISpec) -> None:
        """Register the header component."""
        spec.components.header(HEADER, HEADER_DOC)

    def response_helper(self, response: dict, **kwargs) -> dict:
        """A shared (component) response sends the header."""
        return {"headers": {**response.get("headers", {}), HEADER: HEADER_REF}}

    def operation_helper(self, path=None, operations=None, **kwargs) -> None:
        """Every response an operation documents itself sends the header (shared ones get it as components)."""
        for operation in (operations or {}).values():
            for response in operation.get("responses", {}).values():
                if isinstance(response, dict) and "$ref" not in response:
                    response.setdefault("headers", {})[HEADER] = HEADER_REF


def stamp(response: Response) -> Response:
    """Put this request's id on its answer (`X-Request-ID`); called by the app's one after_request hook
    (`core.api.http_headers.finish_response`)."""
    response.headers[HEADER] = current_request_id()
    return response


def install_log_filter() -> None:
    """Put `request_id` on log records: the root logger's handlers get `RequestIdFilter` (with none configured,
    Python's default one on stderr, printing `LOG_FORMAT`). The answer's header is set by `stamp`."""
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(format=LOG_FORMAT)
    for handler in root.handlers:
        if not any(isinstance(f, RequestIdFilter) for f in handler.filters):
            handler.addFilter(RequestIdFilter())

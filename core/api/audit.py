"""The audit log over HTTP, for the tenant's admins: `GET /org/audit` (filters, cursor pages; CSV with
`Accept: text/csv`), `GET /org/audit.csv` (the streamed CSV export) and `GET /org/audit/actions`.

Read-only views over `core.services.audit_log`: no route here (or anywhere) edits or deletes an audit row.
"""

from __future__ import annotations

import datetime as dt

from flask import Response, request
from flask.views import MethodView
from marshmallow import fields, validate

from core.api.blueprint import Blueprint
from core.api.csv_answer import CSV_TYPE, csv_answer
from core.api.fields import UtcTime
from core.api_schema import Schema
from core.auth import require_role
from core.identity import ACTOR_KINDS
from core.pagination import DEFAULT_PAGE_SIZE, CursorPageQuery, page_body
from core.roles import ADMINS
from core.services import audit, audit_log
from core.tenancy import current_org

blp = Blueprint("audit", __name__, description="The organisation's audit log: who changed money, seats or access "
                                               "(admins only; read-only)")


CSV_DOC = {"schema": {"type": "string", "description": "CSV (UTF-8): a header line, then the rows newest first; "
                                                      "`before`/`after` as JSON; streamed"}}
_SHORT = validate.Length(min=1, max=255)


class AuditQuery(CursorPageQuery):
    """Filters (all optional, combined with AND) and the cursor page."""

    actor = fields.String(validate=_SHORT, metadata={"description": "the actor's id (an API key's, member's or "
                                                                    "customer's id, `operator`, `system`)"})
    actorKind = fields.String(validate=validate.OneOf(ACTOR_KINDS))
    action = fields.String(validate=validate.Length(min=1, max=64),
                           metadata={"description": "one of `GET /org/audit/actions`"})
    recordType = fields.String(validate=validate.Length(min=1, max=32),
                               metadata={"description": "e.g. `ticket`, `booking`, `refund`, `api_key`"})
    recordId = fields.String(validate=_SHORT)
    since = fields.AwareDateTime(default_timezone=dt.UTC, metadata={
        "description": "only rows at or after this time (ISO 8601; without a zone: UTC)"})
    until = fields.AwareDateTime(default_timezone=dt.UTC, metadata={
        "description": "only rows before this time (ISO 8601; without a zone: UTC)"})


class ActorSchema(Schema):
    kind = fields.String(metadata={"enum": list(ACTOR_KINDS)})
    id = fields.String()
    label = fields.String(metadata={"description": "the API key's name, or the member's, customer's e-mail"})


class AuditEntrySchema(Schema):
    """One audit row."""

    id = fields.String()
    at = UtcTime(attribute="created_at", metadata={"type": "string", "format": "date-time"})
    actor = fields.Function(lambda entry: {"kind": entry.actor_kind, "id": entry.actor_id,
                                           "label": entry.actor_label}, metadata={"type": "object"})
    action = fields.String()
    recordType = fields.String(attribute="record_type")
    recordId = fields.String(attribute="record_id")
    before = fields.Dict(allow_none=True, metadata={"description": "the changed fields before (null: a new record)"})
    after = fields.Dict(allow_none=True, metadata={"description": "the changed fields after (null: removed)"})
    address = fields.String(allow_none=True, metadata={"description": "the client's address"})
    requestId = fields.String(attribute="request_id", allow_none=True,
                              metadata={"description": "the request's `X-Request-ID`"})


class AuditPage(Schema):
    data = fields.List(fields.Nested(AuditEntrySchema))
    meta = fields.Dict(metadata={"description": "003 `{count, page: {size, next_cursor, first, last}, links}`"})


class AuditAction(Schema):
    name = fields.String()
    description = fields.String()


def _filter(args: dict) -> audit_log.AuditFilter:
    return audit_log.AuditFilter(actor=args.get("actor"), actor_kind=args.get("actorKind"),
                                 action=args.get("action"), record_type=args.get("recordType"),
                                 record_id=args.get("recordId"), since=args.get("since"), until=args.get("until"))


def _csv(args: dict) -> Response:
    """The streamed CSV answer for the filters in `args` (the cursor and size are not used: it is everything)."""
    return csv_answer(audit_log.csv_lines(current_org(), _filter(args)), "audit.csv")


@blp.route("/org/audit")
class AuditLog(MethodView):
    @require_role(ADMINS, scope="admin")
    @blp.arguments(AuditQuery, location="query")
    @blp.response(200, AuditPage)
    @blp.doc(responses={"200": {"description": "A page of the audit log (or, with `Accept: text/csv`, all of it "
                                               "as CSV)",
                                "content": {"application/json": {"schema": AuditPage}, CSV_TYPE: CSV_DOC}}})
    def get(self, args):
        """The organisation's audit log, newest first, cursor-paged, filtered by `actor`, `actorKind`, `action`,
        `recordType`, `recordId` and a time range (`since`, `until`). With `Accept: text/csv` the whole filtered
        log as CSV instead (like `/org/audit.csv`)."""
        if request.accept_mimetypes.best_match(["application/json", CSV_TYPE]) == CSV_TYPE:
            return _csv(args)
        page = audit_log.audit_page(current_org(), _filter(args), size=args.get("page_size", DEFAULT_PAGE_SIZE),
                                    cursor=args.get("page_cursor"))
        return page_body(page, lambda entry: entry)  # dumped by AuditPage


@blp.route("/org/audit.csv")
class AuditExport(MethodView):
    @require_role(ADMINS, scope="admin")
    @blp.arguments(AuditQuery, location="query")
    @blp.doc(responses={"200": {"description": "The filtered audit log as CSV", "content": {CSV_TYPE: CSV_DOC}}})
    def get(self, args):
        """The organisation's audit log as CSV, streamed (every row the filters select, newest first; the
        columns are `at, actor_kind, actor_id, actor_label, action, record_type, record_id, before, after,
        address, request_id, id`)."""
        return _csv(args)


@blp.route("/org/audit/actions")
class AuditActions(MethodView):
    @require_role(ADMINS, scope="admin")
    @blp.response(200, AuditAction(many=True))
    def get(self):
        """Every action the audit log records (the core's and the installed plugins'), with what it means."""
        return [{"name": name, "description": text} for name, text in audit.actions().items()]

"""Staff barcode pool API: upload a ticket configuration's codes (CSV), count and list them, delete an unused one.

Thin views over `core.services.barcode_pools`: parse, one service call, dump. Another tenant's configuration or
code is a 404, never a 403.
"""

from __future__ import annotations

import functools

from flask import request
from flask.views import MethodView
from flask_smorest.fields import Upload
from marshmallow import fields

from core.api.blueprint import Blueprint
from core.api.event_schemas import EventListMeta
from core.api.fields import UtcTime
from core.api_schema import Schema
from core.auth import require_role
from core.errors import Unprocessable
from core.models import BarcodePoolCode
from core.pagination import DEFAULT_PAGE_SIZE, CursorPageQuery, SortKey, page_body, paginate_cursor
from core.roles import MANAGERS, READERS
from core.services import barcode_pools
from core.services.ticket_configurations import get_configuration
from core.tenancy import current_org

blp = Blueprint("barcode_pools", __name__, description="Barcode pools of ticket configurations (staff)")

MAX_UPLOAD_BYTES = 8 * 1024 * 1024
CSV_TYPES = ("text/csv", "application/csv")
_KEYS = [SortKey("created_at", BarcodePoolCode.created_at, kind="datetime"), SortKey("id", BarcodePoolCode.id)]
_CSV_DOC = {"requestBody": {"content": {"text/csv": {"schema": {
    "type": "string", "description": "The CSV file itself: one code per row, in the first column."}}}}}


class BarcodeUpload(Schema):
    file = Upload(metadata={"description": "A CSV file: one code per row, in the first column (a first row "
                                           "`barcode` or `code` is a header); codes are trimmed, 4 to 128 "
                                           "printable characters. Or send the CSV itself as a `text/csv` body."})


class InvalidLine(Schema):
    line = fields.Integer(metadata={"description": "1-based line of the file"})
    reason = fields.String(metadata={"description": "empty | too_short | too_long | not_printable | "
                                                    "reserved_prefix (`BO1:` marks signed QR payloads)"})


class UploadResultView(Schema):
    added = fields.Integer(metadata={"description": "codes added to the pool"})
    duplicates = fields.Integer(metadata={"description": "codes repeated in the file or already in one of the "
                                                         "organisation's pools; not added again"})
    invalid = fields.List(fields.Nested(InvalidLine), metadata={"description": "lines refused, and why"})


class PoolCountsView(Schema):
    total = fields.Integer()
    used = fields.Integer(metadata={"description": "taken by a ticket"})
    reserved = fields.Integer(metadata={"description": "held for a booking waiting for payment"})
    available = fields.Integer(metadata={"description": "free for new tickets"})


class BarcodeView(Schema):
    id = fields.String()
    code = fields.String()
    used = fields.Boolean()
    ticket_id = fields.String(allow_none=True)
    used_at = UtcTime(allow_none=True)
    created_at = UtcTime()


class BarcodeList(Schema):
    counts = fields.Nested(PoolCountsView)
    data = fields.List(fields.Nested(BarcodeView))
    meta = fields.Nested(EventListMeta)


def barcode_view(code: BarcodePoolCode) -> dict:
    """A pool code as the API shows it."""
    return {"id": code.id, "code": code.code, "used": code.ticket_id is not None, "ticket_id": code.ticket_id,
            "used_at": code.used_at, "created_at": code.created_at}


def counts_view(counts: barcode_pools.PoolCounts) -> dict:
    """A pool's counts as the API shows them."""
    return {"total": counts.total, "used": counts.used, "reserved": counts.reserved, "available": counts.available}


def larger_body(limit: int):
    """View decorator: this route reads bodies up to `limit` bytes (the app's default is smaller); it runs
    before the body is parsed."""
    def decorator(func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            request.max_content_length = limit
            return func(*args, **kwargs)

        return wrapper

    return decorator


def _csv_bytes(files: dict) -> bytes:
    """The uploaded CSV: the multipart `file`, or a `text/csv` body; 422 naming what is missing or extra."""
    if request.mimetype in CSV_TYPES:
        return request.get_data()
    extra = sorted(set(request.form) - {"file"})
    if extra:
        raise Unprocessable(f"Unknown form field(s): {', '.join(extra)}; send only `file`.",
                            errors={"files": {name: ["Unknown field."] for name in extra}})
    upload = files.get("file")
    if upload is None:
        raise Unprocessable("Send the CSV as the multipart/form-data field `file`, or as a text/csv body.",
                            type="file_required", errors={"files": {"file": ["Missing data for required field."]}})
    return upload.read()


@blp.route("/ticket-configurations/<configuration_id>/barcodes")
class BarcodePool(MethodView):
    @require_role(READERS, scope="read")
    @blp.arguments(CursorPageQuery, location="query")
    @blp.response(200, BarcodeList)
    @blp.error_responses({404: "`ticket_configuration_not_found`"})
    def get(self, args, configuration_id):
        """The pool's counts and its codes in upload order, cursor-paginated (`used`, `ticket_id`)."""
        org = current_org()
        configuration = get_configuration(org, configuration_id)
        page = paginate_cursor(barcode_pools.codes_query(org, configuration), _KEYS,
                               args.get("page_size", DEFAULT_PAGE_SIZE), args.get("page_cursor"))
        return {**page_body(page, barcode_view), "counts": counts_view(barcode_pools.counts(org, configuration))}

    @larger_body(MAX_UPLOAD_BYTES)
    @require_role(MANAGERS, scope="events")
    @blp.arguments(BarcodeUpload, location="files")
    @blp.doc(**_CSV_DOC)
    @blp.response(200, UploadResultView)
    @blp.error_responses({404: "`ticket_configuration_not_found`", 413: "`body_too_large`: over 8 MiB",
                          422: "`invalid_csv`, `too_many_codes`, `file_required`, `validation_error`"})
    def post(self, files, configuration_id):
        """Add codes from a CSV file (multipart `file`, or a `text/csv` body); duplicates and invalid lines are
        reported, not added."""
        result = barcode_pools.upload(current_org(), configuration_id, lambda: _csv_bytes(files))
        return {"added": result.added, "duplicates": result.duplicates, "invalid": result.invalid}


@blp.route("/ticket-configurations/<configuration_id>/barcodes/<barcode_id>")
class BarcodeItem(MethodView):
    @require_role(MANAGERS, scope="events")
    @blp.response(204)
    @blp.error_responses({404: "`ticket_configuration_not_found`, `barcode_not_found`",
                          409: "`barcode_used`, `barcode_reserved`"})
    def delete(self, configuration_id, barcode_id):
        """Delete a code no ticket used (409 `barcode_used`, or `barcode_reserved` while a hold keeps it)."""
        barcode_pools.delete_code(current_org(), configuration_id, barcode_id)
        return "", 204

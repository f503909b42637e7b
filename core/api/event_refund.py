"""Staff bulk refund of an event (003 `PATCH /events/{id}/refund`): 202 with the sync job to poll.

Thin view: parses and calls `core.services.bulk_refund`; never refunds or cancels anything itself.
"""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import fields, pre_load, validate

from core.api.blueprint import Blueprint
from core.api.events import SYNC_HEADER
from core.api_schema import Schema
from core.auth import require_role
from core.services import bulk_refund
from core.tenancy import current_org

blp = Blueprint("event_refund", __name__, description="Events (staff): bulk refund or cancel an event's tickets")


class RefundInput(Schema):
    """003 refund body, bare or wrapped as `{"refund": {...}}`."""

    refund_method = fields.String(load_default="original", validate=validate.OneOf(bulk_refund.METHODS),
                                  metadata={"description": "original (through each booking's gateway) or none "
                                                           "(cancel without refund); store_credit is not "
                                                           "supported (422)."})
    date_ids = fields.List(fields.String(), metadata={"description": "Sessions/dates of this event to scope to."})
    void_tickets = fields.Boolean(load_default=True, metadata={"description": "Must be true (tickets are voided)."})
    refund_checked_in = fields.Boolean(load_default=False, metadata={"description": "Also refund checked-in "
                                                                                     "tickets (else skipped)."})
    notify_customer = fields.Boolean(load_default=True, metadata={"description": "Email each holder (the "
                                                                                 "per-ticket refund email)."})
    note = fields.String(load_default="", validate=validate.Length(max=2000))

    @pre_load
    def _unwrap(self, data, **kwargs):
        """Accept `{"refund": {...}}` as well as the bare fields."""
        wrapped = isinstance(data, dict) and set(data) == {"refund"}
        return data["refund"] if wrapped and isinstance(data["refund"], dict) else data


class AcceptedJob(Schema):
    jobId = fields.String()
    status = fields.String(metadata={"enum": ["queued", "running", "succeeded", "failed"]})


class AcceptedEnvelope(Schema):
    data = fields.Nested(AcceptedJob)


@blp.route("/events/<event_id>/refund")
class EventRefund(MethodView):
    @require_role("staff", scope="orders")
    @blp.arguments(RefundInput)
    @blp.response(202, AcceptedEnvelope, headers={SYNC_HEADER: {"description": "Poll GET /events/{id}/sync_jobs/"
                                                                               "{jobId}",
                                                                "schema": {"type": "string"}}})
    def patch(self, data, event_id):
        """Refund (or cancel, `refund_method: none`) every live ticket of the event or of its `date_ids`,
        in a background job; 409 `uneditable` while another job runs on the event."""
        job = bulk_refund.start_bulk_refund(current_org(), event_id, **data)
        return {"data": {"jobId": job.id, "status": job.status}}, {SYNC_HEADER: job.id}

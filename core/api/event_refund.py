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
from core.models import Org
from core.roles import MANAGERS
from core.services import bulk_refund
from core.tenancy import current_org
from core.timefmt import to_utc_naive

blp = Blueprint("event_refund", __name__, description="Events (staff): bulk refund or cancel an event's tickets")


class EmailTemplate(Schema):
    """The e-mail sent to each buyer with `send_email`: plain text, sent as written."""

    subject = fields.String(required=True, validate=validate.Length(min=1, max=bulk_refund.MAX_SUBJECT))
    body = fields.String(required=True, validate=validate.Length(min=1, max=bulk_refund.MAX_BODY))


class RefundInput(Schema):
    """003 refund body, bare or wrapped as `{"refund": {...}}`."""

    refund_method = fields.String(load_default="original", validate=validate.OneOf(bulk_refund.METHODS),
                                  metadata={"description": "original (through each booking's gateway), "
                                                           "store_credit (the buyer's store credit, spendable at "
                                                           "checkout with `useStoreCredit`) or none (cancel "
                                                           "without refund)."})
    date_ids = fields.List(fields.String(), metadata={"description": "Sessions/dates of this event to scope to."})
    void_tickets = fields.Boolean(load_default=True, metadata={
        "description": "true: refunded tickets are voided (QR stops scanning, seats back on sale); false: money "
                       "back but the tickets stay valid (never refunded twice); not with refund_method none."})
    send_email = fields.Boolean(load_default=False, metadata={
        "description": "E-mail `email_template` to each buyer whose tickets this job refunds or cancels."})
    email_template = fields.Nested(EmailTemplate, metadata={"description": "Required with send_email: true "
                                                                           "(and only then)."})
    expiration_date = fields.DateTime(metadata={"description": "store_credit only: when the credit expires "
                                                               "(ISO 8601, in the future; none: never)."})
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
    @require_role(MANAGERS, scope="orders")
    @blp.arguments(RefundInput)
    @blp.response(202, AcceptedEnvelope, headers={SYNC_HEADER: {"description": "Poll GET /events/{id}/sync_jobs/"
                                                                               "{jobId}",
                                                                "schema": {"type": "string"}}})
    def patch(self, data, event_id):
        """Refund (or cancel, `refund_method: none`) every live ticket of the event or of its `date_ids`,
        in a background job; 409 `uneditable` while another job runs on the event."""
        return start_refund(current_org(), event_id, data)


def start_refund(org: Org, event_id: str, data: dict) -> tuple[dict, dict]:
    """Start the bulk refund for a loaded `RefundInput` body; the 202 answer body and the job header (also the
    public_api_v2 plugin's answer)."""
    if data.get("expiration_date") is not None:
        data = {**data, "expiration_date": to_utc_naive(data["expiration_date"])}
    job = bulk_refund.start_bulk_refund(org, event_id, **data)
    return {"data": {"jobId": job.id, "status": job.status}}, {SYNC_HEADER: job.id}

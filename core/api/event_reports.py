"""Staff report of one event (`GET /events/{event_id}/report`): the numbers the organiser's dashboard shows, for an
API client.

A thin view over `core.services.event_reports`: one service call, dumped by the schema below; another tenant's
event is a 404.
"""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import fields

from core.api.blueprint import Blueprint
from core.api.fields import UtcTime
from core.api_schema import Schema
from core.auth import require_role
from core.roles import READERS
from core.services import event_reports
from core.tenancy import current_org

blp = Blueprint("event_reports", __name__, description="Event reports (staff)")


class ReportEvent(Schema):
    id = fields.String()
    name = fields.String()
    tz = fields.String(metadata={"description": "The IANA timezone the series are bucketed in"})
    startsAt = UtcTime()
    endsAt = UtcTime()


class Totals(Schema):
    capacity = fields.Integer(allow_none=True, metadata={"description": "The event's, else its types' sum; null: "
                                                                        "unlimited"})
    sold = fields.Integer(metadata={"description": "Seats sold"})
    held = fields.Integer(metadata={"description": "Seats held by pending bookings whose hold has not run out"})
    left = fields.Integer(allow_none=True, metadata={"description": "capacity - sold - held (null: unlimited)"})
    checkedIn = fields.Integer(metadata={"description": "Tickets checked in (each once, however often scanned)"})
    admissions = fields.Integer(metadata={"description": "Admitted scans (re-entries included)"})


class TypeSeatsSchema(Schema):
    id = fields.String()
    name = fields.String()
    capacity = fields.Integer(allow_none=True)
    sold = fields.Integer()
    held = fields.Integer()
    left = fields.Integer(allow_none=True)


class BucketSchema(Schema):
    start = fields.String(metadata={"description": "The bucket's local start, ISO 8601 with the event's offset"})
    count = fields.Integer()


class SeriesSchema(Schema):
    unit = fields.String(metadata={"description": "`hour` (the series spans 48 hours or less) or `day`"})
    total = fields.Integer()
    buckets = fields.List(fields.Nested(BucketSchema))


class RevenueSchema(Schema):
    gateway = fields.String(metadata={"description": "The payment method (`offline`, `stripe`, ...)"})
    currency = fields.String()
    bookings = fields.Integer()
    paid = fields.Integer(metadata={"description": "Minor units paid"})
    refunded = fields.Integer(metadata={"description": "Minor units refunded"})
    net = fields.Integer(metadata={"description": "paid - refunded"})


class DoorSchema(Schema):
    scanPoint = fields.String(allow_none=True, metadata={"description": "null: scans that named no scan point"})
    admissions = fields.Integer()
    tickets = fields.Integer(metadata={"description": "Distinct tickets admitted there"})


class EventReportSchema(Schema):
    event = fields.Nested(ReportEvent)
    generatedAt = UtcTime()
    totals = fields.Nested(Totals)
    ticketTypes = fields.List(fields.Nested(TypeSeatsSchema))
    sales = fields.Nested(SeriesSchema, metadata={"description": "Seats of the bookings confirmed in each bucket"})
    checkIns = fields.Nested(SeriesSchema, metadata={"description": "Admitted scans in each bucket"})
    revenue = fields.List(fields.Nested(RevenueSchema), metadata={"description": "Paid bookings by payment method"})
    doors = fields.List(fields.Nested(DoorSchema), metadata={"description": "Admissions per scan point"})


def _series(series: event_reports.Series) -> dict:
    return {"unit": series.unit, "total": series.total,
            "buckets": [{"start": bucket.start.isoformat(), "count": bucket.count} for bucket in series.buckets]}


def report_view(report: event_reports.EventReport) -> dict:
    """The report as the API shows it."""
    event = report.event
    return {
        "event": {"id": event.id, "name": event.name, "tz": event.tz, "startsAt": event.starts_at,
                  "endsAt": event.ends_at},
        "generatedAt": report.generated_at,
        "totals": {"capacity": report.capacity, "sold": report.sold, "held": report.held, "left": report.left,
                   "checkedIn": report.checked_in, "admissions": report.check_ins.total},
        "ticketTypes": [vars(row) for row in report.types],
        "sales": _series(report.sales), "checkIns": _series(report.check_ins),
        "revenue": [{**vars(row), "net": row.net} for row in report.revenue],
        "doors": [{"scanPoint": row.scan_point, "admissions": row.admissions, "tickets": row.tickets}
                  for row in report.doors],
    }


@blp.route("/events/<event_id>/report")
class EventReport(MethodView):
    @require_role(READERS, scope="read")
    @blp.response(200, EventReportSchema)
    @blp.error_responses({404: "`event_not_found`"})
    def get(self, event_id):
        """The event's figures: seats sold, held and left per ticket type, sales and check-ins over time (by hour
        or day in the event's timezone), revenue by payment method net of refunds, admissions per scan point."""
        return report_view(event_reports.event_report(current_org(), event_id))

"""Bulk event refund/cancel over HTTP (`PATCH /events/{id}/refund`): a `refund` sync job that refunds each
booking once through its gateway, frees seats, skips checked-in tickets, counts refusals, fires event hooks."""

from __future__ import annotations

import datetime as dt

import audits
from test_automation import allow_loopback, hooked, receiver  # noqa: F401 - fixtures
from ticket_factory import (
    enabled_plugin,
    fake_gateway,
    issue,
    make_event,
    recorded_hooks,
    reload,
    reload_model,
)

from core import db as database
from core.hookspecs import hookimpl
from core.models import Booking, Event, Refund, SyncJob, Ticket, TicketType, new_id, utcnow
from core.payments import RefundResult

SYNC_HEADER = "X-Event-Sync-Job-ID"


def bulk(tenant, event_id: str, **options):
    return tenant.staff.patch(f"/events/{event_id}/refund", json={"refund": options})


def run(tenant, event_id: str, **options) -> dict:
    """Start a bulk job (inline in tests) and return the job as the status endpoint shows it."""
    response = bulk(tenant, event_id, **options)
    assert response.status_code == 202, response.get_json()
    job_id = response.headers[SYNC_HEADER]
    assert response.get_json()["data"] == {"jobId": job_id, "status": "succeeded"}
    shown = tenant.staff.get(f"/events/{event_id}/sync_jobs/{job_id}")
    assert shown.status_code == 200
    return shown.get_json()["data"]


def counts(ticket_type) -> tuple[int, int, int, int]:
    """(ticket type sold, event sold, live seats by rows, refund rows) — counters must match the rows."""
    with database.db.connection_context():
        tt = TicketType.get_by_id(ticket_type.id)
        live = Ticket.select().where((Ticket.ticket_type == tt.id)
                                     & Ticket.status.in_(("valid", "checked_in"))).count()
        refunds = Refund.select().join(Booking).where(Booking.event == tt.event_id).count()
        return tt.sold, Event.get_by_id(tt.event_id).sold, live, refunds


def test_bulk_refund_refunds_each_booking_once_and_skips_checked_in(tenant):
    event, ticket_type = make_event(tenant)
    pair = issue(tenant, ticket_type, 2)
    single = issue(tenant, ticket_type, 1)
    valid, used = issue(tenant, ticket_type, 2)
    assert tenant.staff.post(f"/events/check-in/{used.id}", json={}).status_code == 200
    assert counts(ticket_type) == (5, 5, 5, 0)

    with recorded_hooks(tenant, "event_refunded", "ticket_refunded") as calls:
        job = run(tenant, event.id, refund_method="original", note="storm")
    assert (job["kind"], job["status"], job["error"]) == ("refund", "succeeded", None)
    assert job["progress"] == {"done": 5, "total": 5}
    result = job["result"]
    assert {k: result[k] for k in ("refunded", "cancelled", "skipped_checked_in", "skipped_already", "failed",
                                   "bookings_refunded", "refunded_amount")} == {
        "refunded": 4, "cancelled": 0, "skipped_checked_in": 1, "skipped_already": 0, "failed": 0,
        "bookings_refunded": 2, "refunded_amount": 4 * 2500}
    assert sorted(kw["ticket"].id for name, kw in calls if name == "ticket_refunded") == sorted(
        t.id for t in (*pair, *single, valid))
    [(_, fired)] = [c for c in calls if c[0] == "event_refunded"]
    assert fired["event"].id == event.id and fired["job"].id == job["id"]
    assert fired["summary"]["refunded"] == 4 and fired["summary"]["note"] == "storm"
    assert {kw["refund"].reason for name, kw in calls if name == "ticket_refunded"} == {"storm"}
    assert {reload(t.id).status for t in (*pair, *single, valid)} == {"refunded"}
    assert reload(used.id).status == "checked_in"
    assert reload_model(Booking, pair[0].booking_id).status == "refunded"
    assert reload_model(Booking, valid.booking_id).status == "partially_refunded"
    assert counts(ticket_type) == (1, 1, 1, 3)  # one refund per booking, seats back once
    assert reload_model(Event, event.id).syncing is False

    with recorded_hooks(tenant, "event_refunded") as again_calls:
        again = run(tenant, event.id)
    assert again["result"]["refunded"] == 0 and again["result"]["skipped_checked_in"] == 1
    assert again_calls == [] and counts(ticket_type) == (1, 1, 1, 3)

    last = run(tenant, event.id, refund_checked_in=True)
    assert last["result"]["refunded"] == 1 and last["progress"] == {"done": 1, "total": 1}
    assert reload(used.id).status == "refunded" and counts(ticket_type) == (0, 0, 0, 4)
    assert reload_model(Booking, valid.booking_id).status == "refunded"


def test_method_none_cancels_without_money(tenant):
    event, ticket_type = make_event(tenant)
    tickets = issue(tenant, ticket_type, 3)
    with recorded_hooks(tenant, "event_cancelled", "ticket_cancelled", "ticket_refunded") as calls:
        job = run(tenant, event.id, refund_method="none")
    assert job["result"]["cancelled"] == 3 and job["result"]["refunded"] == 0
    assert sorted(name for name, _ in calls) == ["event_cancelled"] + ["ticket_cancelled"] * 3
    assert {reload(t.id).status for t in tickets} == {"cancelled"}
    assert reload_model(Booking, tickets[0].booking_id).status == "cancelled"
    assert counts(ticket_type) == (0, 0, 0, 0)


def test_provider_refusals_are_counted_and_do_not_stop_the_job(tenant):
    event, ticket_type = make_event(tenant)
    refused = issue(tenant, ticket_type, 2, gateway="testpay")
    ok = issue(tenant, ticket_type, 1)
    with fake_gateway(tenant, "testpay", lambda amount: RefundResult(succeeded=False, reason="charge disputed")):
        job = run(tenant, event.id)
    assert job["status"] == "succeeded" and job["progress"] == {"done": 3, "total": 3}
    assert job["result"]["refunded"] == 1 and job["result"]["failed"] == 2
    [failure] = job["result"]["failures"]
    assert failure["booking_id"] == refused[0].booking_id and failure["type"] == "refund_declined"
    assert "charge disputed" in failure["reason"] and sorted(failure["ticket_ids"]) == sorted(t.id for t in refused)
    assert {reload(t.id).status for t in refused} == {"valid"} and reload(ok[0].id).status == "refunded"
    assert counts(ticket_type)[:3] == (2, 2, 2)


def test_event_is_syncing_while_the_job_runs(tenant):

    event, ticket_type = make_event(tenant)
    issue(tenant, ticket_type, 2)
    seen = []

    class Spy:
        @hookimpl
        def ticket_refunded(self, ticket):
            from core.services.bulk_refund import customer_emails_muted

            job = SyncJob.select().where(SyncJob.event == event.id).get()
            seen.append((Event.get_by_id(event.id).syncing, job.status, customer_emails_muted()))

    with enabled_plugin(tenant, Spy(), f"spy-{new_id()[:8]}"):
        run(tenant, event.id, notify_customer=False)
    assert seen == [(True, "running", True)] * 2

    with database.db.connection_context():
        audits.start_sync_job(tenant.org, reload_model(Event, event.id), "build")
    busy = bulk(tenant, event.id)
    assert busy.status_code == 409 and busy.get_json()["type"] == "uneditable"
    edit = tenant.staff.patch(f"/events/{event.id}", json={"name": "Renamed"})
    assert edit.status_code == 409 and edit.get_json()["type"] == "uneditable"


def make_session(tenant, parent: Event) -> TicketType:
    """A session (child date) of `parent` with its own ticket type."""
    with database.db.connection_context():
        start = utcnow() + dt.timedelta(days=3)
        child = Event.create(org=tenant.orgid, name="Session", slug=f"s-{new_id()[:8]}", type="date",
                             parent=parent.id, starts_at=start, ends_at=start + dt.timedelta(hours=1),
                             published_at=utcnow())
        return TicketType.create(org=tenant.orgid, event=child, name="Session", price=1000, currency="USD",
                                 capacity=10)


def test_date_ids_scope_to_sessions_of_this_event(tenant, other_tenant):
    parent, _ = make_event(tenant, name="Festival")
    first_type, second_type = make_session(tenant, parent), make_session(tenant, parent)
    first = issue(tenant, first_type, 2)
    second = issue(tenant, second_type, 1)
    job = run(tenant, parent.id, date_ids=[first_type.event_id])
    assert job["result"]["refunded"] == 2 and job["result"]["refunded_amount"] == 2000
    assert {reload(t.id).status for t in first} == {"refunded"} and reload(second[0].id).status == "valid"

    other_event, _ = make_event(tenant)
    theirs = make_session(other_tenant, make_event(other_tenant, name="Their festival")[0]).event_id
    for bad in ([other_event.id], [], [parent.id], [first_type.event_id, theirs], ["made-up"]):
        response = bulk(tenant, parent.id, date_ids=bad)
        assert response.status_code == 422 and response.get_json()["type"] == "invalid_date_ids", bad
    assert reload_model(Event, parent.id).syncing is False


def test_bad_parameters_other_tenant_and_roles(tenant, other_tenant):
    event, ticket_type = make_event(tenant)
    (ticket,) = issue(tenant, ticket_type)
    template = {"subject": "Sorry", "body": "The show is off."}
    for options, type_, field in (
            ({"refund_method": "none", "void_tickets": False}, "invalid_refund_option", "void_tickets"),
            ({"expiration_date": "2099-01-01T00:00:00Z"}, "invalid_refund_option", "expiration_date"),
            ({"refund_method": "store_credit", "expiration_date": "2001-01-01T00:00:00Z"}, "invalid_refund_option",
             "expiration_date"),
            ({"send_email": True}, "invalid_refund_option", "email_template"),
            ({"email_template": template}, "invalid_refund_option", "email_template"),
            ({"send_email": True, "email_template": template}, "email_unavailable", "send_email"),
            ({"send_email": True, "email_template": {"subject": "x"}}, "validation_error", None),
            ({"send_email": True, "email_template": {"subject": "", "body": "b"}}, "validation_error", None),
            ({"refund_method": "cash"}, "validation_error", None),
            ({"refund_checked_in": "maybe"}, "validation_error", None)):
        response = bulk(tenant, event.id, **options)
        assert response.status_code == 422 and response.get_json()["type"] == type_, options
        if field:
            assert field in response.get_json()["errors"], options
    bare = tenant.staff.patch(f"/events/{event.id}/refund", json={"expiration_date": "2099-01-01T00:00:00Z"})
    assert bare.get_json()["type"] == "invalid_refund_option"
    missing = bulk(tenant, "nope")
    assert missing.status_code == 404 and missing.get_json()["type"] == "event_not_found"
    assert bulk(other_tenant, event.id).status_code == 404
    assert tenant.customer().patch(f"/events/{event.id}/refund", json={}).status_code == 403
    assert reload(ticket.id).status == "valid" and reload_model(Event, event.id).syncing is False
    with database.db.connection_context():
        assert SyncJob.select().where(SyncJob.event == event.id).count() == 0


def test_automation_delivers_signed_event_refunded(hooked, receiver):  # noqa: F811 - fixtures
    from plugins.automation import signing

    event, ticket_type = make_event(hooked)
    issue(hooked, ticket_type, 2)
    job = run(hooked, event.id)
    [request] = [r for r in receiver.received if r.json()["type"] == "event.refunded"]
    assert signing.verify(hooked.endpoint["secret"], request.body, request.headers["Boxoffice-Signature"])
    data = request.json()["data"]
    assert data["event"]["id"] == event.id and data["jobId"] == job["id"]
    assert data["summary"]["refunded"] == 2 and data["summary"]["refund_method"] == "original"
    assert [r.json()["type"] for r in receiver.received].count("ticket.refunded") == 2

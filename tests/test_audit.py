"""The audit log (issue 19, part 4): each staff action that changes money, seats or access leaves exactly one row,
with its actor, before and after, address and request id, in the action's own transaction (a refused, failed,
replayed or lost action leaves none); `/org/audit` filters and pages, the CSV export, tenant isolation, no secret
in any row, and rows that nothing can change or delete. Over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest
import requests
from peewee import DatabaseError
from procs import run_cli
from test_races_tickets import storm
from ticket_factory import fake_gateway, hold, issue, make_event, reload, reload_model

from core import db as database
from core.errors import ApiError
from core.identity import Actor
from core.models import ApiKey, AuditEntry, Booking, OutboxEntry, Refund, TicketType
from core.models.audit import AppendOnly
from core.payments import RefundResult
from core.services import audit

RID = {"X-Request-ID": "audit-test-request"}


def rows(tenant, **where) -> list[AuditEntry]:
    """The tenant's audit rows (optionally of one action, record...), oldest first."""
    with database.db.connection_context():
        query = AuditEntry.select().where(AuditEntry.org == tenant.orgid)
        for name, value in where.items():
            query = query.where(getattr(AuditEntry, name) == value)
        return list(query.order_by(AuditEntry.created_at, AuditEntry.id))


def admin_key(tenant) -> ApiKey:
    with database.db.connection_context():
        return ApiKey.get((ApiKey.org == tenant.orgid) & (ApiKey.name == "first admin key"))


def one(tenant, action: str, record_id: str) -> AuditEntry:
    """The single row of `action` on `record_id`, made by the tenant's staff token from the test client."""
    found = rows(tenant, action=action, record_id=record_id)
    assert len(found) == 1, [(r.action, r.record_id) for r in rows(tenant)]
    row = found[0]
    key = admin_key(tenant)
    assert (row.actor_kind, row.actor_id, row.actor_label) == ("api_key", key.id, "first admin key")
    assert row.address == "127.0.0.1" and row.request_id == RID["X-Request-ID"]
    return row


def ok(response, status: int = 200):
    assert response.status_code == status, response.get_json(silent=True)
    return response.get_json(silent=True)


# --- money -------------------------------------------------------------------------------------------------

def test_refund_and_cancel_leave_one_row_each_and_a_repeat_none(tenant):
    _, ticket_type = make_event(tenant)
    first, second, third = issue(tenant, ticket_type, 3)
    refund = ok(tenant.staff.post(f"/events/tickets/{first.id}/refund", json={"reason": "ill"}, headers=RID))
    row = one(tenant, "refund.issued", refund["refund"]["id"])
    assert row.record_type == "refund" and row.before is None
    assert row.after == {**row.after, "booking_id": first.booking_id, "amount": 2500, "currency": "USD",
                         "method": "original", "ticket_ids": [first.id], "tickets_voided": True, "reason": "ill",
                         "status": "owed", "booking_status": "partially_refunded"}
    assert tenant.staff.post(f"/events/tickets/{first.id}/refund", json={}).status_code == 409
    assert len(rows(tenant, action="refund.issued")) == 1

    ok(tenant.staff.post(f"/events/tickets/{second.id}/cancel", headers=RID))
    row = one(tenant, "ticket.cancelled", second.id)
    assert (row.before, row.after) == ({"status": "valid"}, {"status": "cancelled"})
    assert tenant.staff.post(f"/events/tickets/{second.id}/cancel").status_code == 409
    assert len(rows(tenant, action="ticket.cancelled")) == 1

    ok(tenant.staff.post(f"/events/bookings/{first.booking_id}/cancel", headers=RID))
    row = one(tenant, "booking.cancelled", first.booking_id)
    assert row.before == {"status": "partially_refunded"} and row.after["cancelled_ticket_ids"] == [third.id]

    pending = hold(tenant, ticket_type, 2)
    ok(tenant.staff.post(f"/events/bookings/{pending.id}/cancel", headers=RID))
    assert one(tenant, "booking.cancelled", pending.id).after == {"status": "cancelled", "seats_released": 2}
    assert tenant.staff.post(f"/events/bookings/{pending.id}/cancel").status_code == 409
    assert len(rows(tenant, action="booking.cancelled")) == 2

    owed = refund["refund"]["id"]
    ok(tenant.staff.post(f"/events/refunds/{owed}/paid-out", json={"reference": "bank-7"}, headers=RID))
    ok(tenant.staff.post(f"/events/refunds/{owed}/paid-out", json={}))  # idempotent repeat: no second row
    row = one(tenant, "refund.paid_out", owed)
    assert (row.before, row.after) == ({"status": "owed"}, {"status": "paid_out", "reference": "bank-7"})


@pytest.mark.parametrize("answer", [
    lambda amount: RefundResult(succeeded=False, reason="charge disputed"),
    lambda amount: (_ for _ in ()).throw(RuntimeError("connection reset")),
    lambda amount: (_ for _ in ()).throw(ApiError("no", status=409, type="provider_says_no")),
])
def test_a_refund_the_provider_refuses_leaves_no_row(tenant, answer):
    _, ticket_type = make_event(tenant)
    (ticket,) = issue(tenant, ticket_type, gateway="testpay")
    answers = [answer]
    with fake_gateway(tenant, "testpay", lambda amount: answers[0](amount)):
        response = tenant.staff.post(f"/events/bookings/{ticket.booking_id}/refund", json={})
        assert response.status_code >= 400
        with database.db.connection_context():
            assert [r.status for r in Refund.select().where(Refund.booking == ticket.booking_id)] == ["failed"]
        assert rows(tenant, action="refund.issued") == []
        answers[0] = lambda amount: RefundResult(True, "re_ok", amount)
        refund = ok(tenant.staff.post(f"/events/bookings/{ticket.booking_id}/refund", json={}, headers=RID))
    assert one(tenant, "refund.issued", refund["refund"]["id"]).after["status"] == "succeeded"


def test_an_idempotent_replay_writes_no_second_row(tenant):
    _, ticket_type = make_event(tenant)
    (ticket,) = issue(tenant, ticket_type)
    headers = {**RID, "Idempotency-Key": "audit-once-1"}
    first = tenant.staff.post(f"/events/tickets/{ticket.id}/refund", json={}, headers=headers)
    second = tenant.staff.post(f"/events/tickets/{ticket.id}/refund", json={}, headers=headers)
    assert second.headers.get("Idempotent-Replayed") == "true" and first.get_json() == second.get_json()
    one(tenant, "refund.issued", first.get_json()["refund"]["id"])
    assert len(rows(tenant, action="refund.issued")) == 1


def test_racing_cancels_leave_one_row(live_server, tenant):
    _, ticket_type = make_event(tenant)
    (ticket,) = issue(tenant, ticket_type)
    headers = {"orgid": tenant.orgid, "Authorization": f"Bearer {tenant.staff_token}"}
    url = f"{live_server.url}/events/tickets/{ticket.id}/cancel"
    answers = storm([lambda: requests.post(url, headers=headers, timeout=60) for _ in range(6)])
    assert sorted(a.status_code for a in answers) == [200] + [409] * 5
    assert len(rows(tenant, action="ticket.cancelled", record_id=ticket.id)) == 1


def test_a_bulk_store_credit_refund_records_each_refund_and_credit_as_the_requester(tenant):
    fan = tenant.customer()
    event, ticket_type = make_event(tenant)
    (mine,) = issue(tenant, ticket_type, customer_id=fan.customer_id, email=fan.email)
    (theirs,) = issue(tenant, ticket_type, email="guest@example.com")  # no account: no credit, a failure
    started = tenant.staff.patch(f"/events/{event.id}/refund", json={"refund": {"refund_method": "store_credit"}},
                                 headers=RID)
    assert started.status_code == 202, started.get_json()
    refunds = rows(tenant, action="refund.issued")
    assert len(refunds) == 1 and refunds[0].after["ticket_ids"] == [mine.id]
    row = one(tenant, "refund.issued", refunds[0].record_id)
    assert row.after["method"] == "store_credit"
    (credit,) = rows(tenant, action="store_credit.granted")
    assert credit.after == {**credit.after, "customer_id": fan.customer_id, "amount": 2500, "currency": "USD",
                            "refund_id": row.record_id}
    assert (credit.actor_id, credit.request_id) == (row.actor_id, RID["X-Request-ID"])
    assert reload(theirs.id).status == "valid"
    with database.db.connection_context():  # the job carries its requester, for a worker without the request
        entry = OutboxEntry.get((OutboxEntry.org_id == tenant.orgid) & (OutboxEntry.name.contains("bulk_refund")))
    carried = json.dumps(entry.payload["context"])
    assert admin_key(tenant).id in carried and RID["X-Request-ID"] in carried


def test_the_operators_command_line_is_the_actor_of_its_changes(tenant):
    result = run_cli("tenants", "enable", tenant.orgid, "stripe")
    assert result.returncode == 0, result.stdout + result.stderr
    (row,) = rows(tenant, action="plugin.enabled", record_id="stripe")
    assert (row.actor_kind, row.actor_id, row.actor_label, row.address) == ("operator", "operator", "boxoffice CLI",
                                                                            None)


# --- seats and tickets -------------------------------------------------------------------------------------

def test_comp_pre_generate_activate_and_mark_paid(tenant):
    event, ticket_type = make_event(tenant)
    comp = ok(tenant.staff.post("/events/tickets/comp", json={
        "eventId": event.id, "ticketTypeId": ticket_type.id, "holders": [{"email": "vip@example.com"}],
        "note": "press"}, headers=RID), 201)
    row = one(tenant, "tickets.comped", comp["bookingId"])
    assert row.after == {**row.after, "holders": ["vip@example.com"], "note": "press", "seats": 1,
                         "ticket_ids": [comp["tickets"][0]["id"]]}

    batch = ok(tenant.staff.post("/events/tickets/pre-generate", json={
        "eventId": event.id, "ticketTypeId": ticket_type.id, "quantity": 2}, headers=RID), 201)
    assert one(tenant, "tickets.pre_generated", ticket_type.id).after["quantity"] == 2

    door = batch["tickets"][0]["id"]
    path = f"/events/tickets/{door}/activate"
    body = {"holderEmail": "door@example.com", "payment": {"amount": "20", "method": "cash"}}
    ok(tenant.staff.post(path, json=body, headers=RID))
    assert tenant.staff.post(path, json=body).status_code == 409
    row = one(tenant, "ticket.activated", door)
    assert row.before == {"status": "pending_activation"}
    assert row.after == {**row.after, "status": "valid", "amount": 2000, "method": "cash"}

    sale = ok(tenant.staff.post("/events/tickets/purchase", json={
        "eventId": event.id, "items": [{"ticketTypeId": ticket_type.id, "quantity": 1}], "email": "b@example.com",
        "name": "B"}), 201)
    paid = ok(tenant.staff.post(f"/events/bookings/{sale['bookingId']}/mark-paid", json={"reference": "till-4"},
                                headers=RID))
    ok(tenant.staff.post(f"/events/bookings/{sale['bookingId']}/mark-paid", json={"reference": "again"}))
    row = one(tenant, "booking.marked_paid", sale["bookingId"])
    assert (row.before, row.after["status"], row.after["reference"]) == ({"status": "pending"}, "confirmed",
                                                                         "till-4")
    assert row.after["ticket_ids"] == [t["id"] for t in paid["tickets"]]


def test_staff_transfer_claim_link_and_undo_check_in(tenant):
    _, ticket_type = make_event(tenant)
    ticket, scanned = issue(tenant, ticket_type, 2)
    moved = ok(tenant.staff.post(f"/events/tickets/{ticket.id}/transfer", json={"toEmail": "new@example.com"},
                                 headers=RID), 201)
    row = one(tenant, "ticket.transferred", ticket.id)
    assert row.before == {**row.before, "status": "valid", "holder_email": "holder@example.com"}
    assert row.after == {**row.after, "status": "transferred", "new_ticket_id": moved["newTicket"]["id"],
                         "to_email": "new@example.com"}
    assert tenant.staff.post(f"/events/tickets/{ticket.id}/transfer", json={"toEmail": "x@example.com"}
                             ).status_code == 409
    assert len(rows(tenant, action="ticket.transferred")) == 1

    renewed = ok(tenant.staff.post(f"/events/tickets/{moved['newTicket']['id']}/claim-link", headers=RID), 201)
    row = one(tenant, "ticket.claim_link_reissued", moved["newTicket"]["id"])
    assert row.after == {"transfer_id": renewed["transfer"]["id"], "expires_at": renewed["claimExpiresAt"]}

    ok(tenant.staff.post(f"/events/check-in/{scanned.id}", json={}))
    assert rows(tenant, record_id=scanned.id) == []  # a scan is not audited
    ok(tenant.staff.post(f"/events/check-in/{scanned.id}/undo", json={"reason": "wrong person"}, headers=RID))
    assert tenant.staff.post(f"/events/check-in/{scanned.id}/undo", json={}).status_code == 409
    row = one(tenant, "check_in.undone", scanned.id)
    assert (row.before, row.after["status"], row.after["reason"]) == ({"status": "checked_in"}, "valid",
                                                                      "wrong person")


def test_capacity_and_price_edits_but_not_other_fields_and_never_a_refused_one(tenant):
    event, ticket_type = make_event(tenant)
    issue(tenant, ticket_type, 3)
    path = f"/events/ticket-types/{ticket_type.id}"
    ok(tenant.staff.patch(path, json={"description": "New text"}))
    assert rows(tenant, action="ticket_type.changed") == []
    refused = tenant.staff.patch(path, json={"capacity": 2})
    assert refused.status_code == 409 and refused.get_json()["type"] == "capacity_below_sold"
    invalid = tenant.staff.patch(path, json={"capacity": -5})
    assert invalid.status_code == 422
    assert rows(tenant, action="ticket_type.changed") == []
    ok(tenant.staff.patch(path, json={"capacity": 80, "price": "30.00"}, headers=RID))
    row = one(tenant, "ticket_type.changed", ticket_type.id)
    assert (row.before, row.after) == ({"capacity": 50, "price": 2500}, {"capacity": 80, "price": 3000})
    assert reload_model(TicketType, ticket_type.id).capacity == 80

    ok(tenant.staff.patch(f"/events/{event.id}", json={"capacity": 150}, headers=RID))
    row = one(tenant, "event.capacity_changed", event.id)
    assert (row.before, row.after) == ({"capacity": 100}, {"capacity": 150})
    ok(tenant.staff.patch(f"/events/{event.id}", json={"name": "Renamed"}))
    assert len(rows(tenant, action="event.capacity_changed")) == 1

    start = event.starts_at + dt.timedelta(days=1)
    sessions = [{"name": "Talk", "starts_at": start.isoformat() + "Z", "capacity": 40,
                 "ends_at": (start + dt.timedelta(hours=1)).isoformat() + "Z"}]
    parent = ok(tenant.staff.post("/events", json={"event": {"type": "parent", "name": "Fest", "tz": "UTC",
                                                             "sessions": sessions}}), 201)["data"]["id"]
    (session,) = ok(tenant.staff.get(f"/events/{parent}?include=sessions"))["data"]["sessions"]
    ok(tenant.staff.patch(f"/events/{parent}", json={"event": {"sessions": [{"id": session["id"], "capacity": 45}]}},
                          headers=RID))
    assert one(tenant, "event.capacity_changed", session["id"]).after == {"capacity": 45}


# --- access ------------------------------------------------------------------------------------------------

def test_api_key_changes_by_an_admin_and_by_the_operator_without_secrets(tenant, operator):
    issued = ok(tenant.staff.post("/org/api-keys", json={"name": "Door scanner", "role": "staff",
                                                        "scopes": ["checkin"]}, headers=RID), 201)
    row = one(tenant, "api_key.issued", issued["id"])
    assert row.after == {"name": "Door scanner", "role": "staff", "scopes": ["checkin"],
                         "prefix": issued["apiKey"][:10]}
    ok(tenant.staff.patch(f"/org/api-keys/{issued['id']}", json={"scopes": ["checkin", "read"]}, headers=RID))
    ok(tenant.staff.patch(f"/org/api-keys/{issued['id']}", json={"scopes": ["checkin", "read"]}))  # no change
    row = one(tenant, "api_key.changed", issued["id"])
    assert (row.before, row.after) == ({"scopes": ["checkin"]}, {"scopes": ["read", "checkin"]})
    ok(tenant.staff.delete(f"/org/api-keys/{issued['id']}", headers=RID))
    ok(tenant.staff.delete(f"/org/api-keys/{issued['id']}"))  # repeating is harmless, and unrecorded
    assert one(tenant, "api_key.revoked", issued["id"]).before == {"revoked_at": None}

    own = admin_key(tenant).id
    assert tenant.staff.delete(f"/org/api-keys/{own}").status_code == 409  # refused: nothing recorded
    assert rows(tenant, action="api_key.revoked", record_id=own) == []

    by_operator = ok(operator.post(f"/operator/tenants/{tenant.orgid}/api-keys", json={"name": "ops"}, headers=RID),
                     201)
    (row,) = rows(tenant, action="api_key.issued", record_id=by_operator["id"])
    assert (row.actor_kind, row.actor_id, row.actor_label, row.request_id) == (
        "operator", "operator", "operator", RID["X-Request-ID"])
    ok(operator.delete(f"/operator/tenants/{tenant.orgid}/api-keys/{by_operator['id']}"))
    assert rows(tenant, action="api_key.revoked", record_id=by_operator["id"])[0].actor_kind == "operator"

    text = json.dumps([[r.before, r.after, r.actor_label] for r in rows(tenant)])
    with database.db.connection_context():
        digests = [k.key_hash for k in ApiKey.select().where(ApiKey.org == tenant.orgid)]
    for secret in [issued["apiKey"], by_operator["apiKey"], tenant.admin_api_key, tenant.staff_token, *digests]:
        assert secret not in text


def test_org_settings_domains_plugins_and_officers(tenant, operator):
    ok(tenant.staff.patch("/org/settings", json={"holdMinutes": 25, "name": "Renamed Org"}, headers=RID))
    ok(tenant.staff.patch("/org/settings", json={"holdMinutes": 25}))  # nothing changes: no row
    assert tenant.staff.patch("/org/settings", json={"defaultGateway": "nope"}).status_code == 422
    row = one(tenant, "org.settings_changed", tenant.orgid)
    assert (row.before, row.after) == ({"name": "Tenant A", "hold_minutes": None},
                                       {"name": "Renamed Org", "hold_minutes": 25})

    host = f"tickets-{tenant.orgid}.example.com"
    ok(operator.post(f"/operator/tenants/{tenant.orgid}/domains", json={"hostname": host}), 201)
    ok(operator.post(f"/operator/tenants/{tenant.orgid}/domains", json={"hostname": host}), 201)  # same: no row
    ok(operator.delete(f"/operator/tenants/{tenant.orgid}/domains/{host}"), 204)
    assert [(r.action, r.actor_kind) for r in rows(tenant, record_type="domain")] == [
        ("org.domain_added", "operator"), ("org.domain_removed", "operator")]

    base = f"/operator/tenants/{tenant.orgid}/plugins/stripe"
    ok(operator.patch(f"{base}/settings", json={"secret_key": "sk_test_verysecret123456", "currency": "usd"}))
    ok(operator.patch(f"{base}/settings", json={"secret_key": "sk_test_othersecret987654"}))
    ok(operator.post(f"{base}/enable"))
    ok(operator.post(f"{base}/enable"))  # already enabled: no row
    ok(operator.post(f"{base}/disable"))
    actions = [(r.action, r.before, r.after) for r in rows(tenant, record_type="plugin", record_id="stripe")]
    assert actions == [
        ("plugin.settings_changed", {"secret_key": None, "currency": None},
         {"secret_key": "[changed]", "currency": "usd"}),
        ("plugin.settings_changed", {"secret_key": "[changed]"}, {"secret_key": "[changed]"}),
        ("plugin.enabled", {"enabled": False}, {"enabled": True}),  # its row came with the settings
        ("plugin.disabled", {"enabled": True}, {"enabled": False}),
    ]
    assert "secret" not in json.dumps([a[1:] for a in actions]).replace("secret_key", "")

    fan = tenant.customer()
    ok(tenant.staff.put(f"/org/officers/{fan.customer_id}", headers=RID))
    ok(tenant.staff.put(f"/org/officers/{fan.customer_id}"))
    assert one(tenant, "customer.officer_granted", fan.customer_id).after == {"officer": True, "email": fan.email}


# --- reading it --------------------------------------------------------------------------------------------

def _seed(tenant, count: int) -> list[str]:
    """`count` cancelled tickets (one `ticket.cancelled` row each), oldest first."""
    _, ticket_type = make_event(tenant)
    tickets = issue(tenant, ticket_type, count)
    for ticket in tickets:
        ok(tenant.staff.post(f"/events/tickets/{ticket.id}/cancel", headers=RID))
    return [t.id for t in tickets]


def test_filters_and_cursor_pages(tenant):
    cancelled = _seed(tenant, 5)
    issued = ok(tenant.staff.post("/org/api-keys", json={"name": "Bar"}, headers=RID), 201)
    seen, cursor = [], None
    while True:
        query = {"action": "ticket.cancelled", "page[size]": 2, **({"page[cursor]": cursor} if cursor else {})}
        page = ok(tenant.staff.get("/org/audit", query_string=query))
        seen += [entry["recordId"] for entry in page["data"]]
        cursor = page["meta"]["page"]["next_cursor"]
        if cursor is None:
            break
    assert seen == cancelled[::-1]  # newest first, each once

    (entry,) = ok(tenant.staff.get("/org/audit", query_string={"recordId": issued["id"]}))["data"]
    key = admin_key(tenant)
    assert entry == {**entry, "action": "api_key.issued", "recordType": "api_key", "before": None,
                     "actor": {"kind": "api_key", "id": key.id, "label": "first admin key"},
                     "address": "127.0.0.1", "requestId": RID["X-Request-ID"]}
    by_actor = ok(tenant.staff.get("/org/audit", query_string={"actor": key.id, "page[size]": 200}))["data"]
    assert len(by_actor) == 6
    assert ok(tenant.staff.get("/org/audit", query_string={"actorKind": "operator"}))["data"] == []
    assert len(ok(tenant.staff.get("/org/audit", query_string={"recordType": "ticket"}))["data"]) == 5
    everything = rows(tenant)
    middle = everything[-3].created_at
    since = ok(tenant.staff.get("/org/audit", query_string={"since": middle.isoformat(), "page[size]": 200}))
    until = ok(tenant.staff.get("/org/audit", query_string={"until": middle.isoformat() + "Z", "page[size]": 200}))
    assert len(since["data"]) + len(until["data"]) == len(everything)
    assert {e["id"] for e in since["data"]} == {r.id for r in everything if r.created_at >= middle}
    assert tenant.staff.get("/org/audit", query_string={"page[cursor]": "nonsense"}).status_code == 400
    assert tenant.staff.get("/org/audit", query_string={"since": "yesterday"}).status_code == 422
    assert tenant.staff.get("/org/audit", query_string={"actorKind": "robot"}).status_code == 422
    actions = ok(tenant.staff.get("/org/audit/actions"))
    assert {a["name"] for a in actions} >= set(audit.ACTIONS)


def test_csv_export_streams_every_filtered_row(tenant):
    cancelled = _seed(tenant, 3)
    for path, accept in (("/org/audit.csv", "*/*"), ("/org/audit", "text/csv")):
        response = tenant.staff.get(path, query_string={"action": "ticket.cancelled"}, headers={"Accept": accept})
        assert response.status_code == 200 and response.mimetype == "text/csv" and response.is_streamed
        table = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
        assert [line["record_id"] for line in table] == cancelled[::-1]
        assert json.loads(table[0]["after"]) == {"status": "cancelled"}
        assert table[0]["actor_label"] == "first admin key" and table[0]["request_id"] == RID["X-Request-ID"]


def test_csv_cells_never_start_a_formula(tenant):
    name = '=HYPERLINK("http://x.example")'
    key = ok(tenant.staff.post("/org/api-keys", json={"name": name, "role": "admin"}), 201)["apiKey"]
    ok(tenant.guest.post("/org/api-keys", json={"name": "-2+3"}, headers={"Authorization": f"Token {key}"}), 201)
    text = tenant.staff.get("/org/audit.csv", query_string={"action": "api_key.issued"}).get_data(as_text=True)
    table = list(csv.DictReader(io.StringIO(text)))
    assert [line["actor_label"] for line in table][0] == "'" + name  # newest first: made by the "=" key
    assert all(not value.startswith(("=", "+", "-", "@")) for line in table for value in line.values())


def test_only_admins_see_it_and_other_tenants_never(tenant, other_tenant):
    _seed(tenant, 1)
    staff_key = ok(tenant.staff.post("/org/api-keys", json={"name": "Staff", "role": "staff"}), 201)["apiKey"]
    staff = tenant.guest.as_token(None)
    for path in ("/org/audit", "/org/audit.csv", "/org/audit/actions"):
        assert staff.get(path, headers={"Authorization": f"Token {staff_key}"}).status_code == 403, path
        assert tenant.customer().get(path).status_code == 403, path
        assert tenant.guest.get(path).status_code == 401, path
    theirs = ok(other_tenant.staff.get("/org/audit", query_string={"page[size]": 200}))["data"]
    mine = {r.id for r in rows(tenant)}
    assert theirs and not mine & {e["id"] for e in theirs}
    assert tenant.orgid not in other_tenant.staff.get("/org/audit.csv").get_data(as_text=True)
    some_id = next(iter(mine))
    assert tenant.staff.get("/org/audit", query_string={"recordId": some_id},
                            headers={"orgid": other_tenant.orgid}).status_code == 403


def test_no_route_edits_or_deletes_a_row(tenant):
    _seed(tenant, 1)
    (row,) = rows(tenant, action="ticket.cancelled")
    for method in ("PUT", "PATCH", "DELETE", "POST"):
        assert tenant.staff.request(method, "/org/audit", json={}).status_code == 405, method
        assert tenant.staff.request(method, f"/org/audit/{row.id}", json={}).status_code in (404, 405), method
    assert rows(tenant, action="ticket.cancelled")[0].after == row.after


def test_rows_are_append_only_in_the_model_and_the_database(tenant):
    _seed(tenant, 1)
    (row,) = rows(tenant, action="ticket.cancelled")
    with database.db.connection_context():
        with pytest.raises(AppendOnly):
            AuditEntry.update(action="x").where(AuditEntry.id == row.id)
        with pytest.raises(AppendOnly):
            AuditEntry.delete()
        with pytest.raises(AppendOnly):
            row.save()
        with pytest.raises(AppendOnly):
            row.delete_instance()
        for statement in ("UPDATE audit_entry SET action = 'x' WHERE id = %s", "DELETE FROM audit_entry WHERE id = %s"):
            sql = statement if not database.is_sqlite() else statement.replace("%s", "?")
            with pytest.raises(DatabaseError), database.write_transaction():
                database.db.execute_sql(sql, (row.id,))
    assert rows(tenant, action="ticket.cancelled")[0].action == "ticket.cancelled"


def test_record_needs_a_transaction_and_a_known_action_and_plugins_add_theirs(tenant):
    with database.db.connection_context():
        with pytest.raises(audit.NotInTransaction):
            audit.record(tenant.orgid, "ticket.cancelled", "ticket", "t1")
        with pytest.raises(ValueError), database.write_transaction():
            audit.record(tenant.orgid, "giftcard.voided", "gift_card", "g1")
        with pytest.raises(ValueError):
            audit.register_actions({"ticket.cancelled": "taken"})
        audit.register_actions({"giftcard.voided": "A gift card voided"})
        robot = Actor(kind="api_key", id="k-1", label="robot", address="10.0.0.9", request_id="r-9")
        with database.write_transaction():
            audit.record(tenant.orgid, "giftcard.voided", "gift_card", "g1", before={"password": "hunter2"},
                         after={"balance": 0, "nested": {"token": "abc"}}, actor=robot)
        with audit.acting_as(robot), database.write_transaction():
            audit.record(tenant.orgid, "giftcard.voided", "gift_card", "g2")
        with pytest.raises(RuntimeError), database.write_transaction():  # rolled back with its change
            audit.record(tenant.orgid, "giftcard.voided", "gift_card", "g3")
            raise RuntimeError("the change failed")
    first, second = rows(tenant, action="giftcard.voided")
    assert first.before == {"password": "[redacted]"}
    assert first.after == {"balance": 0, "nested": {"token": "[redacted]"}}
    assert (second.actor_kind, second.actor_id, second.address, second.request_id) == ("api_key", "k-1", "10.0.0.9",
                                                                                      "r-9")
    assert audit.current_actor().kind == "system"


def test_a_customer_purchase_and_a_scan_write_no_row(tenant):
    event, ticket_type = make_event(tenant, price=0)
    fan = tenant.customer()
    ok(fan.post("/client/events/tickets/register", json={
        "eventId": event.id, "items": [{"ticketTypeId": ticket_type.id, "quantity": 1}]}), 201)
    (ticket,) = issue(tenant, ticket_type)
    ok(tenant.staff.post(f"/events/check-in/{ticket.id}", json={}))
    assert [r.action for r in rows(tenant) if r.action != "api_key.issued"] == []
    with database.db.connection_context():
        assert Booking.select().where(Booking.org == tenant.orgid).count() >= 1

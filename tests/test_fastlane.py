"""The fast lane answers door requests exactly as Flask does, and hands everything else to Flask.

Each case is sent twice, once through the app as deployed (fast lane in front) and once straight to Flask
(the lane's `flask_wsgi`), on twin tickets in the same state. The answers must match in status, headers and
body, with only generated ids and clock times masked; `FastLane.served` tells which requests the lane
answered itself.
"""

from __future__ import annotations

import json
import secrets

import pytest
from ticket_factory import issue, make_event, recorded_hooks, reload
from werkzeug.test import Client

from core import db as database
from core.api.fastlane import FastLane
from core.app import PrefixMiddleware
from core.auth import issue_token
from core.config import Config
from core.services import checkin, qr

# ids, links and clock times differ between the twins
GENERATED = {"id", "at", "firstScannedAt", "lastScannedAt", "bookingId", "orderId", "qrUrl", "createdAt",
             "confirmedAt", "expiresAt", "paymentRef"}


def lane_of(app) -> FastLane:
    lane = app.wsgi_app.wsgi_app  # PrefixMiddleware(FastLane(...))
    assert isinstance(lane, FastLane)
    return lane


def masked(value, names: dict):
    """`value` with generated fields and the twins' own ids replaced by placeholders."""
    if isinstance(value, dict):
        return {k: ("<generated>" if k in GENERATED and v else masked(v, names)) for k, v in value.items()}
    if isinstance(value, list):
        return [masked(v, names) for v in value]
    if isinstance(value, str):
        for real, placeholder in names.items():
            value = value.replace(real, placeholder)
    return value


class Twins:
    """Sends a request through the lane and straight to Flask, and says whether the lane answered it."""

    def __init__(self, app, tenant):
        self.lane = lane_of(app)
        self.tenant = tenant
        self.through_lane = Client(app.wsgi_app)
        self.flask_only = Client(PrefixMiddleware(self.lane.flask_wsgi))

    def send(self, path_for, body_for=None, *, headers=None, raw=None, content_type="application/json",
             names=None):
        """`path_for(twin)`/`body_for(twin)` (and `headers`, a dict or a function of the twin) build each twin's
        request (twin 0 via the lane, 1 via Flask).
        Checks both twins got the same answer; returns (status, masked answer, requests the lane answered)."""
        answers, served = [], 0
        for twin, client in enumerate((self.through_lane, self.flask_only)):
            sent = {"orgid": self.tenant.orgid, "Authorization": f"Bearer {self.tenant.staff_token}",
                    **(headers(twin) if callable(headers) else headers or {})}
            sent = {k: v for k, v in sent.items() if v is not None}
            data = raw if raw is not None else json.dumps(body_for(twin) if body_for else {})
            before = self.lane.served
            answers.append(client.post(path_for(twin), data=data, headers=sent, content_type=content_type))
            served += self.lane.served - before
        lane_answer, flask_answer = answers
        names = names or [{}, {}]
        assert lane_answer.status == flask_answer.status
        assert lane_answer.headers.get("Content-Type") == flask_answer.headers.get("Content-Type")
        assert sorted(lane_answer.headers.keys()) == sorted(flask_answer.headers.keys())
        bodies = [masked(json.loads(a.get_data()), n) for a, n in zip(answers, names, strict=True)]
        assert bodies[0] == bodies[1]
        for answer in answers:  # the same encoding: Flask's compact JSON and a newline
            assert answer.get_data() == (json.dumps(answer.get_json(), separators=(",", ":")) + "\n").encode()
        return lane_answer.status_code, bodies[0], served


@pytest.fixture
def twins(app, tenant):
    return Twins(app, tenant)


def twin_tickets(tenant, **type_fields):
    event, ticket_type = make_event(tenant, **type_fields)
    tickets = issue(tenant, ticket_type, 2)
    names = [{t.id: "<ticket>", event.id: "<event>"} for t in tickets]
    return event, tickets, names


def code(tenant, ticket) -> str:
    return qr.payload_for(tenant.org, reload(ticket.id))


def test_admission_and_duplicate_scan_by_qr_are_answered_by_the_lane_as_flask_would(twins, tenant):
    event, tickets, names = twin_tickets(tenant)
    body = lambda twin: {"qrPayload": code(tenant, tickets[twin]), "scanPoint": "north", "eventId": event.id}  # noqa: E731
    status, answer, served = twins.send(lambda _: "/events/check-in", body, names=names)
    assert (status, served) == (200, 1)
    assert answer["admitted"] is True and answer["ticket"]["scanCount"] == 1
    assert answer["ticket"]["ticketType"]["name"] == "General" and answer["checkIn"]["scanPoint"] == "north"

    status, answer, served = twins.send(lambda _: "/api/events/check-in", body, names=names)
    assert (status, served) == (409, 1)
    assert answer["type"] == "already_checked_in" and answer["lastScanPoint"] == "north"
    assert all(reload(t.id).scan_count == 1 for t in tickets)


def test_scan_by_ticket_id_and_validate_are_answered_by_the_lane(twins, tenant):
    _, tickets, names = twin_tickets(tenant)
    check = lambda twin: {"qrPayload": code(tenant, tickets[twin])}  # noqa: E731
    status, answer, served = twins.send(lambda _: "/events/tickets/validate", check, names=names)
    assert (status, served, answer["valid"], answer["reason"]) == (200, 1, True, None)

    status, answer, served = twins.send(lambda twin: f"/events/check-in/{tickets[twin].id}", names=names)
    assert (status, served, answer["admitted"]) == (200, 1, True)

    status, answer, served = twins.send(lambda _: "/events/tickets/validate", check, names=names)
    assert (status, served, answer["valid"], answer["reason"]) == (200, 1, False, "already_used")


def test_refusals_the_service_raises_are_answered_by_the_lane(twins, tenant):
    _, tickets, names = twin_tickets(tenant, accepted_scan_points=["vip"])
    other_event, _ = make_event(tenant)
    body = lambda twin: {"qrPayload": code(tenant, tickets[twin]), "scanPoint": "main"}  # noqa: E731
    status, answer, served = twins.send(lambda _: "/events/check-in", body, names=names)
    assert (status, served, answer["type"]) == (409, 1, "scan_point_not_accepted")

    wrong = lambda twin: {"qrPayload": code(tenant, tickets[twin]), "eventId": other_event.id}  # noqa: E731
    status, answer, served = twins.send(lambda _: "/events/check-in", wrong, names=names)
    assert (status, served, answer["type"]) == (409, 1, "wrong_event")

    forged = code(tenant, tickets[0])[:-4] + "AAAA"
    status, answer, served = twins.send(lambda _: "/events/check-in", lambda _: {"qrPayload": forged})
    assert (status, served, answer["type"]) == (422, 1, "invalid_qr")

    status, answer, served = twins.send(lambda _: "/events/check-in/no-such-ticket")
    assert (status, served, answer["type"]) == (404, 1, "ticket_not_found")
    assert all(reload(t.id).scan_count == 0 for t in tickets)


def other_tenant_token(tenant) -> str:
    from tenants import service

    with database.db.connection_context():
        other = service.create_tenant("Elsewhere")
    return issue_token(Config.from_env().secret_key, sub="key:x", org=other.org.id, role="staff")


@pytest.mark.parametrize("case", [
    "invalid_json", "not_an_object", "form_body", "unknown_field", "missing_code", "code_too_long",
    "escaped_nul", "query_string", "no_orgid", "unknown_orgid", "no_token", "bad_token", "customer_token",
    "other_tenants_token", "odd_ticket_id", "empty_body",
])
def test_anything_unusual_is_handed_to_flask_and_answered_with_its_error(twins, tenant, case):
    (ticket,) = issue(tenant, make_event(tenant)[1])
    good = {"qrPayload": code(tenant, ticket)}
    path, send = "/events/check-in", {}
    if case == "invalid_json":
        send = {"raw": '{"qrPayload": '}
    elif case == "not_an_object":
        send = {"raw": json.dumps([good])}
    elif case == "form_body":
        send = {"raw": "qrPayload=x", "content_type": "application/x-www-form-urlencoded"}
    elif case == "unknown_field":
        send = {"raw": json.dumps({**good, "admitAnyway": True})}
    elif case == "missing_code":
        send = {"raw": json.dumps({"scanPoint": "door"})}
    elif case == "code_too_long":
        send = {"raw": json.dumps({"qrPayload": "BO1:" + "A" * 9000})}
    elif case == "escaped_nul":
        send = {"raw": json.dumps({**good, "scanPoint": "door\x00"})}
    elif case == "query_string":
        path = "/events/check-in?x=%00"
        send = {"raw": json.dumps(good)}
    elif case == "no_orgid":
        send = {"raw": json.dumps(good), "headers": {"orgid": None}}
    elif case == "unknown_orgid":
        send = {"raw": json.dumps(good), "headers": {"orgid": "nope"}}
    elif case == "no_token":
        send = {"raw": json.dumps(good), "headers": {"Authorization": None}}
    elif case == "bad_token":
        send = {"raw": json.dumps(good), "headers": {"Authorization": "Bearer " + secrets.token_urlsafe(20)}}
    elif case == "customer_token":
        send = {"raw": json.dumps(good), "headers": {"Authorization": f"Bearer {tenant.customer().token}"}}
    elif case == "other_tenants_token":
        send = {"raw": json.dumps(good), "headers": {"Authorization": f"Bearer {other_tenant_token(tenant)}"}}
    elif case == "odd_ticket_id":
        path, send = "/events/check-in/" + "x" * 65, {"raw": "{}"}
    elif case == "empty_body":
        send = {"raw": ""}
    status, answer, served = twins.send(lambda _: path, **send)
    assert served == 0
    assert 400 <= status < 500 and answer["type"]
    assert reload(ticket.id).scan_count == 0


def test_an_unexpected_error_is_logged_and_answered_500_as_flask_would(twins, tenant, monkeypatch, caplog):
    (ticket,) = issue(tenant, make_event(tenant)[1])

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(checkin, "check_in_payload", broken)
    status, answer, served = twins.send(lambda _: "/events/check-in", lambda _: {"qrPayload": code(tenant, ticket)})
    assert (status, served, answer["type"]) == (500, 1, "internal_error")
    assert "disk on fire" not in json.dumps(answer)
    assert sum("unhandled error" in r.getMessage() for r in caplog.records) == 2  # lane and Flask both log


def test_a_failure_in_the_lanes_own_checks_hands_the_request_to_flask(app, tenant, monkeypatch):
    from core.api import fastlane

    (ticket,) = issue(tenant, make_event(tenant)[1])
    lane = lane_of(app)

    def unavailable(value):
        raise RuntimeError("tenant cache unavailable")

    monkeypatch.setattr(fastlane, "org_for_header", unavailable)
    before = lane.served
    response = tenant.staff.post("/events/check-in", json={"qrPayload": code(tenant, ticket)})
    assert response.status_code == 200 and response.get_json()["admitted"] is True and lane.served == before


def test_plugins_hear_admissions_the_lane_answers(app, tenant):
    (ticket,) = issue(tenant, make_event(tenant)[1])
    lane = lane_of(app)
    with recorded_hooks(tenant, "ticket_checked_in") as calls:
        before = lane.served
        response = tenant.staff.post("/events/check-in", json={"qrPayload": code(tenant, ticket)})
    assert response.status_code == 200 and lane.served == before + 1
    assert [(name, kwargs["ticket"].id, kwargs["checkin"].result) for name, kwargs in calls] == \
        [("ticket_checked_in", ticket.id, "admitted")]


def test_the_lane_steps_aside_while_the_app_has_a_request_hook_it_does_not_replicate(app, tenant):
    (ticket,) = issue(tenant, make_event(tenant)[1])
    lane, seen = lane_of(app), []
    hook = lambda: seen.append("before")  # noqa: E731 - what a plugin's app.before_request would add
    app.before_request_funcs[None].append(hook)
    try:
        before = lane.served
        response = tenant.staff.post("/events/check-in", json={"qrPayload": code(tenant, ticket)})
    finally:
        app.before_request_funcs[None].remove(hook)
    assert response.status_code == 200 and seen == ["before"] and lane.served == before


PURCHASE = "/client/events/tickets/purchase"


def twin_sales(tenant, **type_fields):
    """Two events with one ticket type each, in the same state: what each twin buys from."""
    twins = [make_event(tenant, **type_fields) for _ in range(2)]
    names = [{event.id: "<event>", ticket_type.id: "<type>"} for event, ticket_type in twins]
    body = lambda twin, **extra: {"eventId": twins[twin][0].id, "email": "fan@example.com", "name": "Fan",  # noqa: E731
                                  "items": [{"ticketTypeId": twins[twin][1].id, "quantity": 2}], **extra}
    return twins, names, body


def held(ticket_type) -> tuple[int, int]:
    from core.models import TicketType

    with database.db.connection_context():
        row = TicketType.get_by_id(ticket_type.id)
        return row.sold, row.held


def test_purchases_are_answered_by_the_lane_as_flask_would(twins, tenant):
    sales, names, body = twin_sales(tenant, price=0, capacity=3)
    status, answer, served = twins.send(lambda _: PURCHASE, body, headers={"Authorization": None}, names=names)
    assert (status, served, answer["status"], len(answer["tickets"])) == (201, 1, "confirmed", 2)
    status, answer, served = twins.send(lambda _: PURCHASE, body, headers={"Authorization": None}, names=names)
    assert (status, served, answer["type"]) == (409, 1, "sold_out")
    assert [held(ticket_type) for _, ticket_type in sales] == [(2, 0), (2, 0)]

    paid, names, body = twin_sales(tenant, price=1500)
    customer = tenant.customer()
    status, answer, served = twins.send(lambda _: PURCHASE, lambda twin: body(twin, paymentGateway="offline"),
                                        headers={"Authorization": f"Bearer {customer.token}"}, names=names)
    assert (status, served, answer["status"], answer["amount"]) == (201, 1, "pending", 3000)
    assert answer["email"] == "fan@example.com" and answer["expiresAt"]

    status, answer, served = twins.send(lambda _: "/events/tickets/purchase", body, names=names)
    assert (status, served, answer["source"], answer["paymentGateway"]) == (201, 1, "box_office", "offline")
    assert [held(ticket_type) for _, ticket_type in paid] == [(0, 4), (0, 4)]


def test_purchase_refusals_are_the_same_through_the_lane_and_unusual_ones_go_to_flask(twins, tenant):
    sales, names, body = twin_sales(tenant, price=0)
    guest = {"Authorization": None}
    status, answer, served = twins.send(lambda _: PURCHASE, lambda twin: {**body(twin), "email": None}, headers=guest,
                                        names=names)
    assert (status, served) == (422, 0)  # the schema refuses a null email: Flask answers
    status, answer, served = twins.send(lambda _: PURCHASE, lambda twin: {k: v for k, v in body(twin).items()
                                                                          if k != "email"}, headers=guest, names=names)
    assert (status, served, answer["errors"]["json"]) == (422, 1, {"email": ["Required for guests (or send a "
                                                                              "customer token)."]})
    keyed = lambda twin: {**guest, "Idempotency-Key": f"k-{twin}"}  # noqa: E731 - one key per twin
    status, answer, served = twins.send(lambda _: PURCHASE, body, headers=keyed, names=names)
    assert (status, served) == (201, 0)  # replays are the Flask decorator's
    customer = tenant.customer()
    status, answer, served = twins.send(lambda _: "/events/tickets/purchase", body,
                                        headers={"Authorization": f"Bearer {customer.token}"}, names=names)
    assert (status, served, answer["type"]) == (403, 0, "forbidden_role")
    assert [held(ticket_type) for _, ticket_type in sales] == [(2, 0), (2, 0)]


def test_the_lane_can_be_turned_off():
    assert Config.from_env({}).fast_lane is True
    assert Config.from_env({"BOXOFFICE_FAST_LANE": "0"}).fast_lane is False

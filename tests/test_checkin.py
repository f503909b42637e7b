"""Door check-in through HTTP: admit once (or up to the re-entry limit), scan points, states, the scan log."""

from __future__ import annotations

from ticket_factory import issue, make_event, recorded_hooks, reload

from core import db as database
from core.models import CheckIn
from core.services import qr


def payload(tenant, ticket) -> str:
    return qr.payload_for(tenant.org, reload(ticket.id))


def scan(tenant, ticket, **body):
    return tenant.staff.post("/events/check-in", json={"qrPayload": payload(tenant, ticket), **body})


def checkins(ticket_id: str) -> list[CheckIn]:
    with database.db.connection_context():
        return list(CheckIn.select().where(CheckIn.ticket == ticket_id).order_by(CheckIn.created_at))


def test_no_reentry_ticket_is_admitted_once_then_409_with_when_and_where(tenant):
    event, ticket_type = make_event(tenant)
    (ticket,) = issue(tenant, ticket_type)
    first = scan(tenant, ticket, scanPoint="north-gate", eventId=event.id)
    assert first.status_code == 200, first.get_json()
    body = first.get_json()
    assert body["admitted"] is True and body["ticket"]["status"] == "checked_in"
    assert body["ticket"]["attended"] is True and body["ticket"]["scanCount"] == 1
    assert body["checkIn"]["scanPoint"] == "north-gate"

    again = scan(tenant, ticket, scanPoint="south-gate")
    assert again.status_code == 409
    error = again.get_json()
    assert error["type"] == "already_checked_in"
    assert error["lastScanPoint"] == "north-gate" and error["firstScannedAt"] and error["scanCount"] == 1
    assert "north-gate" in error["message"]

    log = checkins(ticket.id)
    assert [c.result for c in log] == ["admitted", "already_used"]
    assert log[0].staff and log[0].staff.startswith("key:")
    assert reload(ticket.id).scan_count == 1


def test_reentry_limit_counts_total_scans(tenant):
    _, ticket_type = make_event(tenant, allow_reentry=True, reentry_limit=3)
    (ticket,) = issue(tenant, ticket_type)
    codes = [scan(tenant, ticket, scanPoint="door").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 409]
    assert reload(ticket.id).scan_count == 3


def test_unlimited_reentry(tenant):
    _, ticket_type = make_event(tenant, allow_reentry=True, reentry_limit=None)
    (ticket,) = issue(tenant, ticket_type)
    assert all(scan(tenant, ticket).status_code == 200 for _ in range(5))
    assert reload(ticket.id).scan_count == 5


def test_accepted_scan_points(tenant):
    _, ticket_type = make_event(tenant, accepted_scan_points=["vip-door"])
    (ticket,) = issue(tenant, ticket_type)
    wrong = scan(tenant, ticket, scanPoint="main-door")
    assert wrong.status_code == 409 and wrong.get_json()["type"] == "scan_point_not_accepted"
    missing = scan(tenant, ticket)
    assert missing.status_code == 409 and missing.get_json()["type"] == "scan_point_not_accepted"
    for near_miss in ("vip", "VIP-DOOR", 'vip-door"', "door", "vip-door "):
        response = scan(tenant, ticket, scanPoint=near_miss)
        assert response.status_code == 409 and response.get_json()["type"] == "scan_point_not_accepted", near_miss
    check = tenant.staff.post("/events/tickets/validate",
                              json={"qrPayload": payload(tenant, ticket), "scanPoint": "main-door"}).get_json()
    assert check["valid"] is False and check["reason"] == "scan_point_not_accepted"
    assert reload(ticket.id).scan_count == 0
    assert scan(tenant, ticket, scanPoint="vip-door").status_code == 200


def test_validate_records_nothing_and_reports_already_used(tenant):
    event, ticket_type = make_event(tenant)
    (ticket,) = issue(tenant, ticket_type, name="Ana Lima", email="ana@example.com")
    body = {"qrPayload": payload(tenant, ticket), "eventId": event.id}
    for _ in range(3):
        check = tenant.staff.post("/events/tickets/validate", json=body).get_json()
        assert check["valid"] is True and check["reason"] is None
    assert check["ticket"]["holderName"] == "Ana Lima" and check["ticket"]["holderEmail"] == "ana@example.com"
    assert check["ticket"]["ticketType"] == {"id": ticket_type.id, "name": "General"}
    assert check["ticket"]["status"] == "valid" and check["ticket"]["scanCount"] == 0
    assert checkins(ticket.id) == [] and reload(ticket.id).scan_count == 0
    scan(tenant, ticket)
    check = tenant.staff.post("/events/tickets/validate", json=body).get_json()
    assert check["valid"] is False and check["reason"] == "already_used" and check["ticket"]["scanCount"] == 1


def test_wrong_event_and_not_activated(tenant):
    other_event, _ = make_event(tenant, name="Other")
    _, ticket_type = make_event(tenant)
    (ticket,) = issue(tenant, ticket_type)
    wrong = scan(tenant, ticket, eventId=other_event.id)
    assert wrong.status_code == 409 and wrong.get_json()["type"] == "wrong_event"
    check = tenant.staff.post("/events/tickets/validate",
                              json={"qrPayload": payload(tenant, ticket), "eventId": other_event.id}).get_json()
    assert check["reason"] == "wrong_event"
    (pending,) = issue(tenant, ticket_type, status="pending_activation")
    refused = scan(tenant, pending)
    assert refused.status_code == 409 and refused.get_json()["type"] == "not_activated"
    assert tenant.staff.post("/events/tickets/validate",
                             json={"qrPayload": payload(tenant, pending)}).get_json()["reason"] == "not_activated"


def test_check_in_by_ticket_id(tenant):
    _, ticket_type = make_event(tenant)
    (ticket,) = issue(tenant, ticket_type)
    ok = tenant.staff.post(f"/events/check-in/{ticket.id}", json={"scanPoint": "desk"})
    assert ok.status_code == 200 and ok.get_json()["ticket"]["lastScanPoint"] == "desk"
    again = tenant.staff.post(f"/events/check-in/{ticket.id}", json={})
    assert again.status_code == 409 and again.get_json()["type"] == "already_checked_in"
    assert tenant.staff.post("/events/check-in/not-a-ticket", json={}).status_code == 404
    shown = tenant.staff.get(f"/events/tickets/{ticket.id}").get_json()
    assert shown["attended"] is True and shown["scanCount"] == 1 and shown["lastScanPoint"] == "desk"


def test_other_tenant_ticket_is_404_and_customers_cannot_check_in(tenant, other_tenant):
    _, ticket_type = make_event(tenant)
    (ticket,) = issue(tenant, ticket_type)
    response = other_tenant.staff.post(f"/events/check-in/{ticket.id}", json={})
    assert response.status_code == 404
    foreign = other_tenant.staff.post("/events/check-in", json={"qrPayload": payload(tenant, ticket)})
    assert foreign.status_code == 422 and foreign.get_json()["reason"] == "forged"
    fan = tenant.customer()
    assert fan.post(f"/events/check-in/{ticket.id}", json={}).status_code == 403
    assert reload(ticket.id).scan_count == 0


def test_check_in_fires_hook_after_commit(tenant):
    _, ticket_type = make_event(tenant)
    (ticket,) = issue(tenant, ticket_type)
    with recorded_hooks(tenant, "ticket_checked_in") as calls:
        assert scan(tenant, ticket).status_code == 200
        assert scan(tenant, ticket).status_code == 409
    assert [(kw["ticket"].id, kw["checkin"].result, kw["ticket"].scan_count) for _, kw in calls] == [
        (ticket.id, "admitted", 1)]


def test_bad_input_is_422(tenant):
    assert tenant.staff.post("/events/check-in", json={"scanPoint": "x"}).status_code == 422
    assert tenant.staff.post("/events/check-in", json={"qrPayload": "x", "evil": 1}).status_code == 422
    long_point = tenant.staff.post("/events/check-in", json={"qrPayload": "x", "scanPoint": "p" * 500})
    assert long_point.status_code == 422 and long_point.get_json()["type"] == "validation_error"


def test_admission_answers_with_the_updated_ticket(tenant):
    _, ticket_type = make_event(tenant)
    (ticket,) = issue(tenant, ticket_type)
    ok = scan(tenant, ticket, scanPoint="gate")
    assert ok.status_code == 200 and ok.get_json()["ticket"]["scanCount"] == 1
    assert ok.get_json()["ticket"]["firstScannedAt"].endswith("Z")
    assert scan(tenant, ticket).status_code == 409


def test_plain_admission_takes_the_single_statement_path(tenant, monkeypatch):
    from core.services import checkin

    def careful_path(*args, **kwargs):
        raise AssertionError("the admitting UPDATE alone should have admitted this ticket (no read)")

    monkeypatch.setattr(checkin, "_load", careful_path)
    _, ticket_type = make_event(tenant, allow_reentry=True, reentry_limit=2, accepted_scan_points=["a", "b"])
    (ticket,) = issue(tenant, ticket_type)
    assert scan(tenant, ticket, scanPoint="a").status_code == 200
    second = tenant.staff.post(f"/events/check-in/{ticket.id}", json={"scanPoint": "b"})
    assert second.status_code == 200 and second.get_json()["ticket"]["scanCount"] == 2
    assert [c.result for c in checkins(ticket.id)] == ["admitted", "admitted"]


def test_every_refusal_reason_agrees_between_check_in_and_validate(tenant, monkeypatch):
    """The check-in decides in SQL (on PostgreSQL, refusals included), validate in Python: for each way a
    ticket can be refused, both give the same reason, the check-in logs it, and nothing is admitted."""
    from ticket_factory import set_status

    from core.services import checkin

    def explain_in_python(*args, **kwargs):
        raise AssertionError("PostgreSQL should have explained this refusal in the scanning statement")

    event, plain = make_event(tenant)
    other_event, _ = make_event(tenant, name="Other")
    _, vip = make_event(tenant, accepted_scan_points=["vip-door"])
    cases = []
    (used,) = issue(tenant, plain)
    assert scan(tenant, used, scanPoint="main").status_code == 200
    cases.append((used, {"scanPoint": "main"}, "already_used", 409, "already_checked_in"))
    (elsewhere,) = issue(tenant, plain)
    cases.append((elsewhere, {"eventId": other_event.id}, "wrong_event", 409, "wrong_event"))
    (cancelled,) = issue(tenant, plain)
    set_status(cancelled.id, "cancelled")
    cases.append((cancelled, {}, "revoked", 409, "ticket_revoked"))
    (pending,) = issue(tenant, plain, status="pending_activation")
    cases.append((pending, {}, "not_activated", 409, "not_activated"))
    _, rotating = make_event(tenant, rotating_qr=True)
    (live_only,) = issue(tenant, rotating)   # its static code is refused: the door wants the live one
    cases.append((live_only, {}, "live_code_required", 409, "live_code_required"))
    (vip_ticket,) = issue(tenant, vip)
    cases.append((vip_ticket, {"scanPoint": "main"}, "scan_point_not_accepted", 409, "scan_point_not_accepted"))
    old_payload = {}
    (reissued,) = issue(tenant, plain)
    old_payload[reissued.id] = payload(tenant, reissued)
    with database.db.connection_context():
        from core.models import Ticket

        Ticket.update(secret_version=Ticket.secret_version + 1).where(Ticket.id == reissued.id).execute()
    cases.append((reissued, {}, "revoked", 409, "ticket_revoked"))

    for ticket, body, reason, status, error_type in cases:
        text = old_payload.get(ticket.id) or payload(tenant, ticket)
        check = tenant.staff.post("/events/tickets/validate", json={"qrPayload": text, **body}).get_json()
        assert check["valid"] is False and check["reason"] == reason, (reason, check)
        before = len(checkins(ticket.id))
        with monkeypatch.context() as patched:
            if not database.is_sqlite():  # SQLite explains every refusal in Python (no data-modifying CTEs)
                patched.setattr(checkin, "_load", explain_in_python)
            refused = tenant.staff.post("/events/check-in", json={"qrPayload": text, **body})
        assert refused.status_code == status and refused.get_json()["type"] == error_type, refused.get_json()
        assert refused.get_json()["reason"] == reason
        log = checkins(ticket.id)
        assert len(log) == before + 1 and log[-1].result == reason
        assert reload(ticket.id).scan_count == (1 if ticket is used else 0)


def test_the_door_rules_are_served_as_data_and_are_the_rules_refusals_answer_with(tenant):
    """The table an offline scanner runs is the one the server admits by: every refusal a scan answers is a
    row of it, with that row's type and status."""
    rules = tenant.staff.get("/events/scanner/rules")
    assert rules.status_code == 200
    table = rules.get_json()
    assert [r["name"] for r in table["ticket"]] == ["wrong_event", "live_code_required", "revoked", "not_activated",
                                                     "scan_point_not_accepted", "already_used"]
    assert table["session"]["name"] == "not_registered_for_session" and table["admittableStatuses"]
    by_name = {r["name"]: r for r in table["code"] + table["ticket"] + [table["session"]]}
    assert by_name["revoked"]["params"]["statuses"] == ["cancelled", "refunded", "transferred", "refunding"]
    _, ticket_type = make_event(tenant, accepted_scan_points=["vip"])
    (ticket,) = issue(tenant, ticket_type)
    refused = scan(tenant, ticket, scanPoint="main")
    rule = by_name[refused.get_json()["reason"]]
    assert (refused.status_code, refused.get_json()["type"]) == (rule["status"], rule["type"])
    assert tenant.customer().get("/events/scanner/rules").status_code == 403


def test_validate_without_scan_point_lists_accepting_points(tenant):
    _, ticket_type = make_event(tenant, accepted_scan_points=["vip-door", "side-door"])
    (ticket,) = issue(tenant, ticket_type)
    check = tenant.staff.post("/events/tickets/validate", json={"qrPayload": payload(tenant, ticket)}).get_json()
    assert check["valid"] is True and check["reason"] is None
    assert check["acceptedScanPoints"] == ["vip-door", "side-door"]
    named = tenant.staff.post("/events/tickets/validate",
                              json={"qrPayload": payload(tenant, ticket), "scanPoint": "main"}).get_json()
    assert (named["valid"], named["reason"]) == (False, "scan_point_not_accepted")
    assert scan(tenant, ticket).get_json()["type"] == "scan_point_not_accepted"  # check-in still needs a point
    assert reload(ticket.id).scan_count == 0
    rules = tenant.staff.get("/events/scanner/rules").get_json()["ticket"]
    point_rule = next(rule for rule in rules if rule["name"] == "scan_point_not_accepted")
    assert point_rule["params"]["unnamedPointRefusedBy"] == ["check_in"]

"""Door devices (issue 20 part 2): a signed-in door member sets a device up for one event; its token reaches the
door routes of that event only, expires after it, and is refused at once when revoked or when the member loses
their door role; the offline bundle; scan uploads recorded once each; door conflicts reported once."""

from __future__ import annotations

import datetime as dt
import uuid

import jwt
from door_world import device, door_member, offline_scan, scan_log
from test_members import member
from ticket_factory import add_ticket_type, issue, make_event, recorded_hooks, reload, set_status

from core import db as database
from core.models import DoorConflict, DoorDevice, utcnow
from core.services import door_devices, qr


def scans_path(event) -> str:
    return f"/events/{event.id}/door-scans"


def test_a_door_member_sets_up_a_device_for_one_event_and_an_api_key_cannot(tenant):
    event, ticket_type = make_event(tenant, accepted_scan_points=["north", "vip"])
    door = door_member(tenant)
    answer = door.post(f"/events/{event.id}/door-devices", json={"scanPoint": "north", "name": "North phone"})
    assert answer.status_code == 201, answer.get_json()
    body = answer.get_json()
    assert body["tokenType"] == "Bearer" and body["scanPoint"] == "north" and body["scanPoints"] == ["north", "vip"]
    assert body["event"]["id"] == event.id and body["event"]["name"] == "Gig" and body["event"]["timezone"] == "UTC"
    claims = jwt.decode(body["token"], options={"verify_signature": False})
    assert claims["role"] == "door_device" and claims["event"] == event.id
    assert claims["sub"] == f"device:{body['deviceId']}" and claims["org"] == tenant.orgid
    expected = event.ends_at.replace(tzinfo=dt.UTC) + door_devices.GRACE
    assert abs(claims["exp"] - expected.timestamp()) < 5
    assert body["expiresAt"].startswith(expected.strftime("%Y-%m-%dT%H:%M"))
    with database.db.connection_context():
        row = DoorDevice.get_by_id(body["deviceId"])
    assert row.member_id == door.member_id and row.event_id == event.id and row.name == "North phone"

    keyed = tenant.staff.post(f"/events/{event.id}/door-devices", json={})
    assert keyed.status_code == 403 and keyed.get_json()["type"] == "member_sign_in_required"
    viewer = member(tenant, f"viewer-{uuid.uuid4().hex[:8]}@door.example", "viewer")
    refused = viewer.post(f"/events/{event.id}/door-devices", json={})
    assert refused.status_code == 403 and refused.get_json()["type"] == "forbidden_role"
    missing = door.post("/events/00000000-0000-4000-8000-000000000000/door-devices", json={})
    assert missing.status_code == 404 and missing.get_json()["type"] == "event_not_found"
    bad = door.post(f"/events/{event.id}/door-devices", json={"scanPoint": "x" * 101})
    assert bad.status_code == 422 and bad.get_json()["type"] == "validation_error"


def test_the_device_token_reaches_only_the_door_routes_of_its_event(tenant):
    event, ticket_type = make_event(tenant)
    other_event, other_type = make_event(tenant, name="Other")
    (ticket,) = issue(tenant, ticket_type)
    (foreign,) = issue(tenant, other_type)
    scanner, _ = device(tenant, door_member(tenant), event.id, "main")

    assert scanner.get("/events/scanner/keys").status_code == 200
    assert scanner.get("/events/scanner/rules").status_code == 200
    admitted = scanner.post("/events/check-in", json={"qrPayload": qr.payload_for(tenant.org, reload(ticket.id))})
    assert admitted.status_code == 200 and admitted.get_json()["ticket"]["scanCount"] == 1
    assert scan_log(ticket.id)[0].staff.startswith("device:")

    # without an eventId the device's own event is the door's: another event's ticket is the wrong event
    wrong = scanner.post(f"/events/check-in/{foreign.id}", json={})
    assert wrong.status_code == 409 and wrong.get_json()["type"] == "wrong_event"
    mismatch = scanner.post(f"/events/check-in/{foreign.id}", json={"eventId": other_event.id})
    assert mismatch.status_code == 403 and mismatch.get_json()["type"] == "device_event_mismatch"
    validated = scanner.post("/events/tickets/validate",
                             json={"qrPayload": qr.payload_for(tenant.org, foreign), "eventId": other_event.id})
    assert validated.status_code == 403 and validated.get_json()["type"] == "device_event_mismatch"
    bundle = scanner.get(f"/events/{other_event.id}/door-bundle")
    assert bundle.status_code == 403 and bundle.get_json()["type"] == "device_event_mismatch"
    upload = scanner.post(scans_path(other_event), json={"scans": [offline_scan(ticket_id=foreign.id)]})
    assert upload.status_code == 403 and upload.get_json()["type"] == "device_event_mismatch"
    assert reload(foreign.id).scan_count == 0

    for method, path in (("get", "/events"), ("get", f"/events/tickets/{ticket.id}"),
                         ("post", f"/events/check-in/{ticket.id}/undo"), ("get", f"/events/{event.id}/door-devices"),
                         ("post", f"/events/{event.id}/door-devices"), ("get", f"/events/{event.id}/door-conflicts"),
                         ("get", "/org/members")):
        answer = getattr(scanner, method)(path, **({"json": {}} if method == "post" else {}))
        assert answer.status_code == 403 and answer.get_json()["type"] == "forbidden_role", (path, answer.get_json())


def test_a_revoked_device_is_refused_at_once_and_listed(tenant):
    event, ticket_type = make_event(tenant)
    door = door_member(tenant)
    scanner, body = device(tenant, door, event.id)
    other_scanner, other = device(tenant, door_member(tenant), event.id)
    assert scanner.get(f"/events/{event.id}/door-bundle").status_code == 200

    not_mine = door.delete(f"/events/{event.id}/door-devices/{other['deviceId']}")
    assert not_mine.status_code == 403 and not_mine.get_json()["type"] == "not_your_device"
    revoked = tenant.staff.delete(f"/events/{event.id}/door-devices/{body['deviceId']}")
    assert revoked.status_code == 200 and revoked.get_json()["revokedAt"]
    refused = scanner.get(f"/events/{event.id}/door-bundle")
    assert refused.status_code == 401 and refused.get_json()["type"] == "device_revoked"
    assert scanner.get("/events/scanner/keys").status_code == 401

    # a device signs itself out
    assert other_scanner.delete(f"/events/{event.id}/door-devices/{other['deviceId']}").status_code == 200
    assert other_scanner.get("/events/scanner/rules").get_json()["type"] == "device_revoked"

    listed = tenant.staff.get(f"/events/{event.id}/door-devices").get_json()["devices"]
    assert {d["deviceId"]: bool(d["revokedAt"]) for d in listed} == {body["deviceId"]: True, other["deviceId"]: True}
    assert all(d["memberId"] for d in listed)
    gone = tenant.staff.delete(f"/events/{event.id}/door-devices/00000000-0000-4000-8000-000000000000")
    assert gone.status_code == 404 and gone.get_json()["type"] == "door_device_not_found"


def test_a_device_stops_when_its_member_loses_the_door_role(tenant):
    event, _ = make_event(tenant)
    door = door_member(tenant)
    scanner, _ = device(tenant, door, event.id)
    changed = tenant.staff.patch(f"/org/members/{door.member_id}", json={"role": "viewer"})
    assert changed.status_code == 200, changed.get_json()
    refused = scanner.get("/events/scanner/keys")
    assert refused.status_code == 401 and refused.get_json()["type"] == "membership_revoked"


def test_an_expired_device_token_is_refused_and_a_past_event_gets_none(tenant):
    event, _ = make_event(tenant, starts_in_days=-2)
    door = door_member(tenant)
    over = door.post(f"/events/{event.id}/door-devices", json={})
    assert over.status_code == 409 and over.get_json()["type"] == "event_over"

    soon, _ = make_event(tenant, starts_in_days=0)
    scanner, body = device(tenant, door, soon.id)
    assert scanner.get("/events/scanner/keys").status_code == 200
    from core.auth import device_token_for
    with tenant.app.app_context():
        stale = device_token_for(body["deviceId"], tenant.orgid, soon.id, "", utcnow() - dt.timedelta(seconds=5))
    answer = tenant.guest.as_token(stale).get("/events/scanner/keys")
    assert answer.status_code == 401 and answer.get_json()["type"] == "token_expired"
    with database.db.connection_context():  # the row's expiry holds too (the deployment's clock)
        DoorDevice.update(expires_at=utcnow() - dt.timedelta(seconds=1)).where(
            DoorDevice.id == body["deviceId"]).execute()
    from core.door_credentials import forget_device
    with database.db.connection_context():
        forget_device(tenant.orgid, body["deviceId"])
    answer = scanner.get("/events/scanner/keys")
    assert answer.status_code == 401 and answer.get_json()["type"] == "token_expired"


def test_another_tenants_event_and_devices_are_invisible(tenant, other_tenant):
    event, _ = make_event(tenant)
    scanner, body = device(tenant, door_member(tenant), event.id)
    foreign_member = door_member(other_tenant)
    assert foreign_member.post(f"/events/{event.id}/door-devices", json={}).status_code == 404
    assert other_tenant.staff.get(f"/events/{event.id}/door-devices").status_code == 404
    assert other_tenant.staff.get(f"/events/{event.id}/door-conflicts").status_code == 404
    assert other_tenant.staff.delete(f"/events/{event.id}/door-devices/{body['deviceId']}").status_code == 404
    crossed = other_tenant.guest.as_token(scanner.token).get("/events/scanner/keys")
    assert crossed.status_code == 403 and crossed.get_json()["type"] == "org_mismatch"


# --- the bundle -----------------------------------------------------------------------------------------

def test_the_bundle_holds_what_an_offline_door_needs(tenant):
    event, ticket_type = make_event(tenant, allow_reentry=True, reentry_limit=2, accepted_scan_points=["vip"])
    live, cancelled = issue(tenant, ticket_type, 2)
    set_status(cancelled.id, "cancelled")
    scanner, _ = device(tenant, door_member(tenant), event.id, "vip")
    assert scanner.post(f"/events/check-in/{live.id}", json={"scanPoint": "vip"}).status_code == 200

    answer = scanner.get(f"/events/{event.id}/door-bundle")
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    bundle = answer.get_json()
    assert answer.headers["ETag"] == f'"{bundle["etag"]}"'
    assert bundle["event"]["id"] == event.id and bundle["generatedAt"]
    assert [rule["name"] for rule in bundle["rules"]["ticket"]][0] == "wrong_event"
    assert bundle["keys"]["publicKey"]["raw"] and bundle["doorSecret"] is None
    assert bundle["doorSecrets"] == {event.id: None}
    assert bundle["revoked"] == [cancelled.id]
    entries = {entry["id"]: entry for entry in bundle["tickets"]}
    assert set(entries) == {live.id, cancelled.id}
    assert entries[live.id] | {"lastScannedAt": None} == {
        "id": live.id, "eventId": event.id, "typeId": ticket_type.id, "typeName": "General",
        "holderName": "Holder Person", "status": "checked_in", "secretVersion": 1, "scanCount": 1, "poolCode": None,
        "rotatingQr": False, "acceptedScanPoints": ["vip"], "allowReentry": True, "reentryLimit": 2, "scanLimit": 2,
        "admitsEverySession": False, "lastScannedAt": None, "lastScanPoint": "vip"}

    unchanged = scanner.get(f"/events/{event.id}/door-bundle", headers={"If-None-Match": answer.headers["ETag"]})
    assert unchanged.status_code == 304 and unchanged.get_data() == b""
    assert scanner.post(f"/events/check-in/{live.id}", json={"scanPoint": "vip"}).status_code == 200
    changed = scanner.get(f"/events/{event.id}/door-bundle", headers={"If-None-Match": answer.headers["ETag"]})
    assert changed.status_code == 200 and changed.get_json()["tickets"][0]["scanCount"] in (0, 2)
    assert {t["id"]: t["scanCount"] for t in changed.get_json()["tickets"]}[live.id] == 2


def test_the_bundle_costs_the_same_statements_for_any_number_of_tickets(tenant, monkeypatch):
    from peewee import Database

    small, small_type = make_event(tenant)
    issue(tenant, small_type, 1)
    large, large_type = make_event(tenant, capacity_total=500)
    issue(tenant, large_type, 40)
    counts = []
    original = Database.execute_sql

    def counting(self, sql, *args, **kwargs):
        counts[-1] += 1
        return original(self, sql, *args, **kwargs)

    for event in (small, large):
        tenant.staff.get(f"/events/{event.id}/door-bundle")  # warm the per-process caches
        counts.append(0)
        monkeypatch.setattr(Database, "execute_sql", counting)
        answer = tenant.staff.get(f"/events/{event.id}/door-bundle")
        monkeypatch.setattr(Database, "execute_sql", original)
        assert answer.status_code == 200
    assert counts[0] == counts[1] <= 3 and len(answer.get_json()["tickets"]) == 40, counts


# --- uploads --------------------------------------------------------------------------------------------

def test_an_upload_records_each_scan_once_and_counts_admissions(tenant):
    event, ticket_type = make_event(tenant, allow_reentry=True, reentry_limit=3)
    first, second = issue(tenant, ticket_type, 2)
    scanner, body = device(tenant, door_member(tenant), event.id, "main")
    at = dt.datetime(2030, 5, 1, 20, 15, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    scans = [offline_scan(code=qr.payload_for(tenant.org, reload(first.id)), at=at),
             offline_scan(ticket_id=second.id, at=at),
             offline_scan("refused", ticket_id=second.id, reason="scan_point_not_accepted", scan_point="side")]
    answer = scanner.post(scans_path(event), json={"scans": scans})
    assert answer.status_code == 200, answer.get_json()
    results = answer.get_json()["scans"]
    assert [(r["scanId"], r["result"]) for r in results] == [(s["scanId"], "recorded") for s in scans]
    assert results[0]["ticket"]["scanCount"] == 1 and results[0]["ticket"]["status"] == "checked_in"

    log = scan_log(second.id)
    assert [(c.result, c.scan_point, c.device_id) for c in log] == [
        ("admitted", "main", body["deviceId"]), ("scan_point_not_accepted", "side", body["deviceId"])]
    assert log[0].scanned_at == dt.datetime(2030, 5, 1, 18, 15) and log[0].staff == f"device:{body['deviceId']}"
    assert reload(second.id).scan_count == 1 and reload(second.id).last_scanned_at == dt.datetime(2030, 5, 1, 18, 15)

    again = scanner.post(scans_path(event), json={"scans": scans})
    assert [r["result"] for r in again.get_json()["scans"]] == ["duplicate"] * 3
    assert reload(first.id).scan_count == 1 and reload(second.id).scan_count == 1 and len(scan_log(second.id)) == 2


def test_offline_admissions_beyond_the_limit_make_one_conflict_reported_once(tenant):
    event, ticket_type = make_event(tenant)
    (ticket,) = issue(tenant, ticket_type)
    north, _ = device(tenant, door_member(tenant), event.id, "north")
    south, _ = device(tenant, door_member(tenant), event.id, "south")
    third, _ = device(tenant, door_member(tenant), event.id, "west")
    code = qr.payload_for(tenant.org, reload(ticket.id))
    with recorded_hooks(tenant, "door_conflict_detected", "ticket_checked_in") as calls:
        first = north.post(scans_path(event), json={"scans": [offline_scan(code=code, scan_point="north")]})
        assert first.get_json()["scans"][0]["result"] == "recorded"
        second_scan = offline_scan(code=code, scan_point="south")
        second = south.post(scans_path(event), json={"scans": [second_scan]}).get_json()["scans"][0]
        assert second["result"] == "conflict" and second["rule"] == "already_used"
        assert second["ticket"]["scanCount"] == 2
        assert south.post(scans_path(event), json={"scans": [second_scan]}).get_json()["scans"][0]["result"] == \
            "duplicate"
        late = third.post(scans_path(event), json={"scans": [offline_scan(ticket_id=ticket.id, scan_point="west")]})
        assert late.get_json()["scans"][0]["conflictId"] == second["conflictId"]
    assert [name for name, _ in calls].count("door_conflict_detected") == 1
    assert [name for name, _ in calls].count("ticket_checked_in") == 3
    conflict = next(kwargs["conflict"] for name, kwargs in calls if name == "door_conflict_detected")
    assert conflict.ticket_id == ticket.id and conflict.scan_limit == 1 and conflict.scan_count == 2

    listed = tenant.staff.get(f"/events/{event.id}/door-conflicts")
    assert listed.status_code == 200
    (shown,) = listed.get_json()["conflicts"]
    assert shown["id"] == second["conflictId"] and shown["ticketId"] == ticket.id and shown["rule"] == "already_used"
    assert shown["type"] == "already_checked_in" and shown["limit"] == 1 and shown["count"] == 3
    assert len(shown["scanIds"]) == 3 and second_scan["scanId"] in shown["scanIds"] and shown["resolved"] is False
    assert reload(ticket.id).scan_count == 3
    with database.db.connection_context():
        assert DoorConflict.select().where(DoorConflict.ticket_id == ticket.id).count() == 1


def test_an_offline_admission_after_an_online_one_is_a_conflict(tenant):
    event, ticket_type = make_event(tenant)
    (ticket,) = issue(tenant, ticket_type)
    scanner, _ = device(tenant, door_member(tenant), event.id)
    assert scanner.post(f"/events/check-in/{ticket.id}", json={}).status_code == 200
    answer = scanner.post(scans_path(event), json={"scans": [offline_scan(ticket_id=ticket.id)]}).get_json()
    assert answer["scans"][0]["result"] == "conflict"
    (conflict,) = tenant.staff.get(f"/events/{event.id}/door-conflicts").get_json()["conflicts"]
    online = [c.id for c in scan_log(ticket.id) if c.scan_id is None]
    assert conflict["scanIds"][0] == online[0] and len(conflict["scanIds"]) == 2


def test_upload_bad_input_is_a_clear_422_and_records_nothing(tenant):
    event, ticket_type = make_event(tenant)
    (ticket,) = issue(tenant, ticket_type)
    scanner, _ = device(tenant, door_member(tenant), event.id)
    good = offline_scan(ticket_id=ticket.id)
    cases = [
        {"scans": []},
        {"scans": [good] * 501},
        {"scans": [{**good, "scanId": "not-a-uuid"}]},
        {"scans": [{**good, "code": "BO1:X"}]},  # both a code and a ticket id
        {"scans": [{k: v for k, v in good.items() if k != "ticketId"}]},  # neither
        {"scans": [{**good, "verdict": "maybe"}]},
        {"scans": [{**good, "verdict": "refused"}]},  # a refusal names its rule
        {"scans": [{**good, "verdict": "refused", "reason": "bad_vibes"}]},
        {"scans": [{**good, "scannedAt": "yesterday"}]},
        {"scans": [{**good, "scannedAt": "2030-01-01T10:00:00"}]},  # no offset
        {"scans": [good, {**good, "scanId": str(uuid.uuid4()), "scanPoint": "p" * 101}]},
    ]
    for body in cases:
        answer = scanner.post(scans_path(event), json=body)
        assert answer.status_code == 422 and answer.get_json()["type"] == "validation_error", body
    assert scan_log(ticket.id) == [] and reload(ticket.id).scan_count == 0


def test_unknown_and_forged_codes_are_rejected_and_logged_nowhere(tenant, other_tenant):
    event, ticket_type = make_event(tenant)
    foreign_event, foreign_type = make_event(other_tenant)
    (foreign,) = issue(other_tenant, foreign_type)
    scanner, _ = device(tenant, door_member(tenant), event.id)
    scans = [offline_scan("refused", code="NOT-A-TICKET", reason="unknown"),
             offline_scan(code=qr.payload_for(other_tenant.org, foreign)),
             offline_scan(ticket_id=foreign.id)]
    results = scanner.post(scans_path(event), json={"scans": scans}).get_json()["scans"]
    assert [(r["result"], r["error"]["type"]) for r in results] == [
        ("rejected", "invalid_qr"), ("rejected", "invalid_qr"), ("rejected", "ticket_not_found")]
    assert all(r["ticket"] is None for r in results)
    assert reload(foreign.id).scan_count == 0 and scan_log(foreign.id) == []


def test_door_staff_upload_with_their_own_sign_in_too(tenant):
    event, ticket_type = make_event(tenant)
    (ticket,) = issue(tenant, ticket_type)
    door = door_member(tenant)
    answer = door.post(scans_path(event), json={"scans": [offline_scan(ticket_id=ticket.id)]})
    assert answer.get_json()["scans"][0]["result"] == "recorded"
    (row,) = scan_log(ticket.id)
    assert row.device_id is None and row.staff == f"member:{door.member_id}"
    viewer = member(tenant, f"viewer-{uuid.uuid4().hex[:8]}@door.example", "viewer")
    refused = viewer.post(scans_path(event), json={"scans": [offline_scan(ticket_id=ticket.id)]})
    assert refused.status_code == 403 and reload(ticket.id).scan_count == 1


def test_a_pass_admitted_offline_at_a_session_counts_there_and_conflicts_by_the_session_rules(tenant):
    from core.models import Event, PassAdmission, new_id

    parent, _ = make_event(tenant, name="Festival")
    pass_type = add_ticket_type(tenant, parent, name="Pass", is_pass=True, admits_every_session=True)
    plain_type = add_ticket_type(tenant, parent, name="Day")
    with database.db.connection_context():
        session = Event.create(org=tenant.orgid, name="Talk", slug=f"talk-{new_id()[:8]}", parent=parent.id,
                               starts_at=parent.starts_at, ends_at=parent.ends_at, published_at=utcnow())
    (festival_pass,) = issue(tenant, pass_type)
    (day,) = issue(tenant, plain_type)
    east, _ = device(tenant, door_member(tenant), session.id, "east")
    west, _ = device(tenant, door_member(tenant), session.id, "west")
    bundle = east.get(f"/events/{session.id}/door-bundle").get_json()
    entries = {entry["id"]: entry for entry in bundle["tickets"]}
    assert entries[festival_pass.id]["session"] == {"attending": True, "scanCount": 0}
    assert entries[day.id]["session"] == {"attending": False, "scanCount": 0}

    first = east.post(scans_path(session), json={"scans": [offline_scan(ticket_id=festival_pass.id)]})
    assert first.get_json()["scans"][0]["result"] == "recorded", first.get_json()
    second = west.post(scans_path(session), json={"scans": [offline_scan(ticket_id=festival_pass.id)]})
    assert second.get_json()["scans"][0]["result"] == "conflict" and second.get_json()["scans"][0]["rule"] == \
        "already_used"
    with database.db.connection_context():
        entry = PassAdmission.get((PassAdmission.ticket_id == festival_pass.id)
                                  & (PassAdmission.session_id == session.id))
    assert entry.scan_count == 2
    assert [c.event_id for c in scan_log(festival_pass.id)] == [session.id, session.id]

    unchosen = east.post(scans_path(session), json={"scans": [offline_scan(ticket_id=day.id)]}).get_json()
    assert unchosen["scans"][0]["result"] == "conflict"
    assert unchosen["scans"][0]["rule"] == "not_registered_for_session"


def test_a_device_check_in_costs_no_more_statements_than_a_staff_one(tenant, monkeypatch):
    from peewee import Database

    event, ticket_type = make_event(tenant, allow_reentry=True, reentry_limit=None)
    (ticket,) = issue(tenant, ticket_type)
    scanner, _ = device(tenant, door_member(tenant), event.id, "main")
    body = {"qrPayload": qr.payload_for(tenant.org, reload(ticket.id)), "eventId": event.id, "scanPoint": "main"}
    counts = []
    original = Database.execute_sql

    def counting(self, sql, *args, **kwargs):
        counts[-1] += 1
        return original(self, sql, *args, **kwargs)

    for client in (tenant.staff, scanner):
        assert client.post("/events/check-in", json=body).status_code == 200  # warm the caches
        counts.append(0)
        monkeypatch.setattr(Database, "execute_sql", counting)
        answer = client.post("/events/check-in", json=body)
        monkeypatch.setattr(Database, "execute_sql", original)
        assert answer.status_code == 200
    assert counts[0] == counts[1], counts


def test_a_rotating_code_is_judged_when_the_door_scanned_it_not_when_it_is_uploaded(tenant):
    import time

    from core.services import rotating_qr

    event, _ = make_event(tenant)
    live_type = add_ticket_type(tenant, event, name="Live", rotating_qr=True)
    (ticket,) = issue(tenant, live_type)
    scanner, _ = device(tenant, door_member(tenant), event.id, "main")
    scanned = time.time() - 180  # three minutes ago, offline
    with database.db.connection_context():
        ticket = reload(ticket.id)
        then = rotating_qr.live_code(tenant.org, ticket, scanned).text
        stale_then = rotating_qr.live_code(tenant.org, ticket, scanned - 70).text
    at = dt.datetime.fromtimestamp(scanned, dt.UTC)
    answers = scanner.post(scans_path(event), json={"scans": [
        offline_scan(code=then, at=at), offline_scan("refused", code=stale_then, at=at, reason="stale_code")]})
    first, second = answers.get_json()["scans"]
    assert first["result"] == "recorded" and first["ticket"]["scanCount"] == 1
    assert second["result"] == "rejected" and second["error"]["type"] == "qr_expired"
    online = scanner.post("/events/check-in", json={"qrPayload": then})  # the same code now: too old
    assert online.status_code == 409 and online.get_json()["type"] == "qr_expired"
    bundle = scanner.get(f"/events/{event.id}/door-bundle").get_json()
    assert bundle["doorSecret"] and bundle["doorSecrets"] == {event.id: bundle["doorSecret"]}
    assert {t["id"]: t["rotatingQr"] for t in bundle["tickets"]} == {ticket.id: True}


def test_deleting_an_event_deletes_its_door_devices(tenant):
    event, _ = make_event(tenant)
    scanner, body = device(tenant, door_member(tenant), event.id)
    assert tenant.staff.delete(f"/events/{event.id}").status_code in (200, 204)
    with database.db.connection_context():
        assert not DoorDevice.select().where(DoorDevice.id == body["deviceId"]).exists()
    assert scanner.get("/events/scanner/keys").status_code == 401

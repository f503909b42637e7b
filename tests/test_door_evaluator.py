"""The scanner's door evaluator against the server (issue 20: "a test runs every refusal reason through the server
and the scanner's evaluator"): tickets that break every rule of `door_rules.RULES` (and ones admitted) are asked of
the server (`POST /events/tickets/validate`) and of the evaluator in Node, fed the real bundle from
`GET /events/{event_id}/door-bundle`; both must give the same verdict, rule and type. A rule added to the table
without a case here, or without an implementation in the evaluator, fails."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from door_evaluator import run_evaluator
from door_world import device, door_member
from test_barcode_pools import make_pool
from ticket_factory import add_ticket_type, issue, make_event, reload, set_status

from core import db as database
from core.models import BarcodePoolCode, Event, Ticket, new_id, utcnow
from core.services import door_rules, qr, rotating_qr
from core.services.door_rules import RULES

DOOR_POINT = "main"


@pytest.fixture(scope="module")
def world(app):
    """A tenant with an event whose tickets break each rule, another event, and a parent event's session."""
    from conftest import make_tenant

    tenant = make_tenant(app, "Door Evaluator Org")
    other = make_tenant(app, "Door Evaluator Other Org")
    event, plain = make_event(tenant, name="Door night")
    vip = add_ticket_type(tenant, event, name="VIP", accepted_scan_points=["vip"])
    rotating = add_ticket_type(tenant, event, name="Live", rotating_qr=True)
    again = add_ticket_type(tenant, event, name="Re-entry", allow_reentry=True, reentry_limit=2)
    elsewhere, elsewhere_type = make_event(tenant, name="Elsewhere")
    _, foreign_type = make_event(other, name="Foreign")
    (foreign,) = issue(other, foreign_type)

    def ticket(ticket_type=plain, status="valid"):
        (made,) = issue(tenant, ticket_type)
        if status != "valid":
            set_status(made.id, status)
        return reload(made.id)

    used = ticket()
    with database.db.connection_context():
        Ticket.update(status="checked_in", scan_count=1, last_scanned_at=utcnow(), last_scan_point="north").where(
            Ticket.id == used.id).execute()
    reentered = ticket(again)
    with database.db.connection_context():
        Ticket.update(scan_count=1).where(Ticket.id == reentered.id).execute()
    pooled = ticket()
    configuration = make_pool(tenant)
    with database.db.connection_context():
        Ticket.update(data={"barcode": "WRIST-0042"}).where(Ticket.id == pooled.id).execute()
        BarcodePoolCode.create(org=tenant.orgid, configuration=configuration, code="WRIST-0042", ticket=pooled.id,
                               used_at=utcnow())
    parent, pass_type = make_event(tenant, name="Festival")
    with database.db.connection_context():
        session = Event.create(org=tenant.orgid, name="Talk", slug=f"talk-{new_id()[:8]}", parent=parent.id,
                               starts_at=parent.starts_at, ends_at=parent.ends_at, published_at=utcnow())
    (pass_holder,) = issue(tenant, pass_type)
    live = ticket()
    revoked_version = ticket()
    rotating_ticket = ticket(rotating)

    def live_code(age_seconds: float = 0):
        """A rotating code of `rotating_ticket`, made when the test asks (it is live for a minute)."""
        def make() -> str:
            with database.db.connection_context():
                return rotating_qr.live_code(tenant.org, rotating_ticket, time.time() - age_seconds).text
        return make

    cases = {
        "admitted": (event, qr.payload_for(tenant.org, live), None),
        "admitted_pool_code": (event, "WRIST-0042", None),
        "admitted_spare": (event, qr.payload_for(tenant.org, ticket()), None),  # the rotating-code test's
        "admitted_reentry": (event, qr.payload_for(tenant.org, reentered), None),
        "unknown": (event, "NOT-A-TICKET-CODE", "unknown"),
        "unknown_damaged": (event, "BO1:" + "A" * 20, "unknown"),
        "forged": (event, qr.payload_for(other.org, foreign), "forged"),
        "forged_event_binding": (event, qr.payload_from_parts(tenant.org.signing_private_key, live.id, elsewhere.id,
                                                              live.secret_version), "forged"),
        "wrong_event": (event, qr.payload_for(tenant.org, issue(tenant, elsewhere_type)[0]), "wrong_event"),
        "revoked": (event, qr.payload_for(tenant.org, ticket(status="cancelled")), "revoked"),
        "revoked_secret_version": (event, qr.payload_from_parts(
            tenant.org.signing_private_key, revoked_version.id, event.id, revoked_version.secret_version + 1),
            "revoked"),
        "not_activated": (event, qr.payload_for(tenant.org, ticket(status="pending_activation")), "not_activated"),
        "scan_point_not_accepted": (event, qr.payload_for(tenant.org, ticket(vip)), "scan_point_not_accepted"),
        "already_used": (event, qr.payload_for(tenant.org, reload(used.id)), "already_used"),
        "not_registered_for_session": (session, qr.payload_for(tenant.org, pass_holder), "not_registered_for_session"),
        "admitted_live_code": (event, live_code(), None),
        "stale_code": (event, live_code(70), "stale_code"),
        "live_code_required": (event, qr.payload_for(tenant.org, rotating_ticket), "live_code_required"),
    }
    return tenant, cases


def server_reason(tenant, event, text) -> str | None:
    answer = tenant.staff.post("/events/tickets/validate",
                               json={"qrPayload": text, "eventId": event.id, "scanPoint": DOOR_POINT})
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()["reason"]


def bundles(tenant, events) -> dict:
    """The real bundle of each door event, fetched with a door device's token."""
    found = {}
    door = door_member(tenant)
    for event in {e.id: e for e in events}.values():
        scanner, _ = device(tenant, door, event.id, DOOR_POINT)
        answer = scanner.get(f"/events/{event.id}/door-bundle")
        assert answer.status_code == 200, answer.get_json()
        found[event.id] = answer.get_json()
    return found


def test_every_rule_of_the_table_gives_the_same_verdict_on_the_server_and_in_the_evaluator(world):
    tenant, cases = world
    expected = {name for (_, _, name) in cases.values() if name}
    assert set(RULES) <= expected, f"no parity case for the rules {sorted(set(RULES) - expected)}"
    by_event = bundles(tenant, [event for event, _, _ in cases.values()])
    mismatches = []
    for event_id, bundle in by_event.items():
        names = [name for name, (event, _, _) in cases.items() if event.id == event_id]
        now_ms = int(time.time() * 1000)
        texts = {name: text() if callable(text) else text for name, (_, text, _) in cases.items() if name in names}
        scans = [{"text": texts[name], "options": {"scanPoint": DOOR_POINT, "nowMs": now_ms, "purpose": "validate"}}
                 for name in names]
        ran = run_evaluator(bundle, scans)
        for section in ("code", "ticket"):
            table = {rule.name for rule in getattr(door_rules, f"{section.upper()}_RULES")}
            assert table <= set(ran["implemented"][section]), f"the evaluator lacks {section} rules"
        for name, answer in zip(names, ran["answers"], strict=True):
            event, _, rule = cases[name]
            server = server_reason(tenant, event, texts[name])
            if server != rule:
                mismatches.append(f"{name}: the server says {server}, the case expects {rule}")
            if answer["admit"] != (server is None) or answer["rule"] != server:
                mismatches.append(f"{name}: the evaluator says {answer['rule']!r} (admit {answer['admit']}), "
                                  f"the server {server!r}")
            if server is not None and answer["type"] != RULES[server].type:
                mismatches.append(f"{name}: type {answer['type']} != {RULES[server].type}")
    assert not mismatches, "\n".join(mismatches)


def test_the_evaluator_counts_the_devices_own_admissions_and_names_the_ticket(world):
    tenant, cases = world
    event, text, _ = cases["admitted_reentry"]
    bundle = bundles(tenant, [event])[event.id]
    ticket_id = qr.verify_payload(tenant.org.signing_public_key, text).ticket_id
    scans = [{"text": text, "options": {"scanPoint": DOOR_POINT}},
             {"text": text, "options": {"scanPoint": DOOR_POINT, "localAdmissions": {ticket_id: 1}}},
             {"ticketId": ticket_id, "options": {"scanPoint": DOOR_POINT}},
             {"ticketId": "00000000-0000-4000-8000-000000000000", "options": {}}]
    first, second, typed, missing = run_evaluator(bundle, scans)["answers"]
    assert first["admit"] is True and first["ticket"]["id"] == ticket_id and first["ticket"]["typeName"] == "Re-entry"
    assert second["admit"] is False and second["rule"] == "already_used" and second["type"] == "already_checked_in"
    assert typed["admit"] is True and missing["rule"] == "unknown"


def test_a_rule_the_evaluator_does_not_know_refuses(world):
    tenant, cases = world
    event, text, _ = cases["admitted"]
    bundle = bundles(tenant, [event])[event.id]
    bundle["rules"]["ticket"].insert(2, {"name": "curfew", "status": 409, "type": "curfew", "message": "Too late.",
                                         "params": {}})
    bundle["rules"]["code"].append({"name": "hologram", "status": 422, "type": "invalid_qr", "message": "No.",
                                    "params": {}})
    (answer,) = run_evaluator(bundle, [{"text": text}])["answers"]
    assert answer["admit"] is False and answer["type"] == "unknown_rule" and answer["rule"] == "hologram"
    bundle["rules"]["code"].pop()
    (answer,) = run_evaluator(bundle, [{"text": text}])["answers"]
    assert answer["admit"] is False and answer["type"] == "unknown_rule" and answer["rule"] == "curfew"


def test_a_check_in_admits_exactly_what_the_evaluator_admits(world):
    tenant, cases = world
    event, text, _ = cases["admitted"]
    bundle = bundles(tenant, [event])[event.id]
    (offline,) = run_evaluator(bundle, [{"text": text, "options": {"scanPoint": DOOR_POINT}}])["answers"]
    online = tenant.staff.post("/events/check-in", json={"qrPayload": text, "eventId": event.id,
                                                          "scanPoint": DOOR_POINT})
    assert offline["admit"] is True and online.status_code == 200
    after = bundles(tenant, [event])[event.id]
    (again,) = run_evaluator(after, [{"text": text, "options": {"scanPoint": DOOR_POINT}}])["answers"]
    refused = tenant.staff.post("/events/check-in", json={"qrPayload": text, "eventId": event.id,
                                                           "scanPoint": DOOR_POINT})
    assert refused.status_code == 409 and again["type"] == refused.get_json()["type"] == "already_checked_in"
    assert again["message"].startswith("Already checked in at main at ")
    assert dt.datetime.fromisoformat(again["ticket"]["lastScannedAt"].replace("Z", "+00:00"))


def live_text(signed_text: str, door_secret: bytes, ticket_id: str, step: int, *, tamper: bool = False) -> str:
    """A rotating code by the fixed spec (issue 20 part 1), computed here independently of the evaluator."""
    import hashlib
    import hmac
    import struct

    key = hmac.new(door_secret, b"boxoffice-rotating-qr:" + ticket_id.encode(), hashlib.sha256).digest()
    code = hmac.new(key, struct.pack(">I", step), hashlib.sha256).digest()[:5]
    if tamper:
        code = bytes([code[0] ^ 1]) + code[1:]
    signed = qr.b45decode(signed_text[len(qr.PREFIX):])
    return "BO2:" + qr.b45encode(signed + struct.pack(">I", step) + code)


def test_the_evaluator_checks_rotating_codes_by_the_fixed_spec(world):
    """The rotating-QR rules by the fixed spec, computed here apart from both implementations (the bundle's door
    secret replaced by a known one): a live code admits, a tampered one is `forged`, one 75 s old `stale_code`,
    one step ahead admits, two steps ahead is stale, and the static code of a rotating type `live_code_required`."""
    import base64

    tenant, cases = world
    event, text, _ = cases["admitted_spare"]
    bundle = bundles(tenant, [event])[event.id]
    secret = bytes(range(32))
    bundle["doorSecret"] = base64.b64encode(secret).decode()
    bundle["doorSecrets"] = {event.id: bundle["doorSecret"]}
    ticket_id = qr.verify_payload(tenant.org.signing_public_key, text).ticket_id
    for entry in bundle["tickets"]:
        entry["rotatingQr"] = entry["id"] == ticket_id
    now_ms = 1_900_000_000_000
    step = now_ms // 1000 // 15
    scans = [{"text": live_text(text, secret, ticket_id, step)},
             {"text": live_text(text, secret, ticket_id, step, tamper=True)},
             {"text": live_text(text, secret, ticket_id, step - 5)},  # begun 75 s (or more) ago
             {"text": live_text(text, secret, ticket_id, step + 1)},
             {"text": live_text(text, secret, ticket_id, step + 2)},
             {"text": live_text(text, bytes(32), ticket_id, step)},  # another event's secret
             {"text": text}]
    for scan in scans:
        scan["options"] = {"scanPoint": DOOR_POINT, "nowMs": now_ms}
    answers = run_evaluator(bundle, scans)["answers"]
    assert [(a["admit"], a["rule"], a["type"]) for a in answers] == [
        (True, None, None), (False, "forged", "invalid_qr"), (False, "stale_code", "qr_expired"), (True, None, None),
        (False, "stale_code", "qr_expired"), (False, "forged", "invalid_qr"),
        (False, "live_code_required", "live_code_required")]

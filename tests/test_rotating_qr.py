"""The rotating QR (issue 20, part 1): the code against fixed vectors (Python and the page's JS module under Node),
the door secret, check-in and validate of live codes (admitted, `stale_code`, `forged`, `live_code_required`),
the ticket type's opt-in and its barcode-pool rule, and the `/qr` answers of a rotating ticket."""

from __future__ import annotations

import datetime as dt
import io
import json
import shutil
import subprocess
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image
from ticket_factory import issue, make_event, reload

from core import clock
from core import db as database
from core.models import CheckIn, Event
from core.sealed import unseal
from core.services import door_rules, qr, rotating_qr

ROOT = Path(__file__).resolve().parent.parent
JS_MODULE = ROOT / "plugins" / "pages" / "static" / "door" / "rotating-code.js"

# Fixed vectors of the format (docs/tickets.md#rotating-qr): a door secret of bytes 0..31 and a known ticket id.
SECRET = bytes(range(32))
TICKET_ID = "0f8fad5b-d9cb-469f-a165-70867728950e"
TICKET_KEY = "95bb676cd70a7d064faa4be9c6a63b0d3b6a28d11b2c37a1ca0d4e35e2199706"
CODES = {0: "2b9c215699", 1: "a4a56ceeb3", 118_800_000: "f30dc08e4a", 4_294_967_295: "7f44f4b01b"}
SIGNED = bytes(range(91))  # stands for a ticket's 91 signed bytes: the live text only appends to them
LIVE_AT = 1_782_000_007.5  # unix seconds -> step 118_800_000


@pytest.fixture
def clock_at(tmp_path):
    """`clock_at(unix_seconds)`: this process's clock (`core.clock`) set to that moment."""
    path = tmp_path / "offset"

    def move(unix_seconds: float) -> None:
        real = (dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.datetime(1970, 1, 1)).total_seconds()
        path.write_text(repr(unix_seconds - real))
        clock.use_clock_file(str(path))
    yield move
    clock.use_clock_file(None)


# --- the code, Python ---------------------------------------------------------------------------------------

def test_ticket_key_and_codes_match_the_fixed_vectors():
    key = rotating_qr.ticket_key(SECRET, TICKET_ID)
    assert key.hex() == TICKET_KEY
    assert {step: rotating_qr.code_for(key, step).hex() for step in CODES} == CODES
    assert rotating_qr.step_at(LIVE_AT) == 118_800_000 and rotating_qr.step_at(14.999) == 0


def test_the_live_text_is_150_base45_characters_whose_signed_part_is_the_static_payload(tenant):
    event, ticket_type = make_event(tenant, rotating_qr=True)
    (ticket,) = issue(tenant, ticket_type)
    with database.db.connection_context():
        live = rotating_qr.live_code(tenant.org, ticket, now=LIVE_AT)
    assert live.text.startswith("BO2:") and len(live.text[4:]) == 150 and len(live.text) == 154
    assert set(live.text[4:]) <= set(qr._B45)
    raw = qr.b45decode(live.text[4:])
    assert len(raw) == 100 and raw[:91] == qr.signed_bytes_for(tenant.org, ticket)
    assert qr.PREFIX + qr.b45encode(raw[:91]) == qr.payload_for(tenant.org, ticket)
    assert int.from_bytes(raw[91:95], "big") == live.step == 118_800_000
    with database.db.connection_context():
        key = rotating_qr.key_of_ticket(tenant.org, ticket)
    assert raw[95:] == rotating_qr.code_for(key, live.step)
    assert live.expires_at == dt.datetime(1970, 1, 1) + dt.timedelta(seconds=(118_800_000 + 1) * 15)
    claims = qr.verify_payload(tenant.org.signing_public_key, live.text)
    assert (claims.ticket_id, claims.step, claims.code, claims.live) == (ticket.id, live.step, raw[95:], True)


def test_the_window_is_sixty_seconds_back_and_one_step_ahead():
    step = 1000
    start = step * 15
    assert rotating_qr.fresh(step, start) and rotating_qr.fresh(step, start + 60)
    assert not rotating_qr.fresh(step, start + 60.001) and not rotating_qr.fresh(step, start + 70)
    assert rotating_qr.fresh(step, start - 15) and not rotating_qr.fresh(step, start - 15.001)


# --- the code, the page's JS module under Node 20 ------------------------------------------------------------

NODE_CHECK = """
import { codeFor, liveText, ticketKey, stepAt } from %(module)s;
const hex = (bytes) => Buffer.from(bytes).toString("hex");
const secret = Uint8Array.from({length: 32}, (_, i) => i);
const key = await ticketKey(secret, %(ticket)s);
const codes = {};
for (const step of %(steps)s) codes[step] = hex(await codeFor(key, step));
const signed = Uint8Array.from({length: 91}, (_, i) => i);
const live = await liveText(signed, key, %(now_ms)s);
console.log(JSON.stringify({key: hex(key), codes, live, step: stepAt(%(now_ms)s)}));
"""


def test_the_js_module_computes_the_same_vectors_under_node():
    node = shutil.which("node") or "/usr/bin/node"
    assert Path(node).exists(), "Node 20 is needed (/usr/bin/node)"
    script = NODE_CHECK % {"module": json.dumps(JS_MODULE.as_uri()), "ticket": json.dumps(TICKET_ID),
                           "steps": json.dumps(list(CODES)), "now_ms": int(LIVE_AT * 1000)}
    done = subprocess.run([node, "--input-type=module", "-e", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["key"] == TICKET_KEY
    assert {int(step): code for step, code in out["codes"].items()} == CODES
    key = bytes.fromhex(TICKET_KEY)
    assert out["step"] == 118_800_000
    assert out["live"] == qr.live_text(SIGNED, 118_800_000, rotating_qr.code_for(key, 118_800_000))


# --- the door secret ------------------------------------------------------------------------------------------

def test_the_door_secret_is_made_once_sealed_and_kept(tenant, other_tenant):
    event, _ = make_event(tenant)
    with database.db.connection_context():
        assert rotating_qr.door_secret(tenant.org, event.id, create=False) is None
        secret = rotating_qr.door_secret(tenant.org, event.id)
        stored = Event.get_by_id(event.id).door_secret
        rotating_qr._SECRETS._entries.clear()   # another process: reads the same secret from the row
        again = rotating_qr.door_secret(tenant.org, event.id)
        foreign = rotating_qr.door_secret(other_tenant.org, event.id)
    assert len(secret) == 32 and again == secret
    assert secret.hex() not in stored and unseal(stored) is not None  # sealed at rest
    assert foreign is None  # another tenant's event has no secret for this tenant


# --- check-in and validate ----------------------------------------------------------------------------------

def _rotating_ticket(tenant, **fields):
    event, ticket_type = make_event(tenant, rotating_qr=True, **fields)
    (ticket,) = issue(tenant, ticket_type)
    return event, ticket


def _live(tenant, ticket, at: float | None = None) -> str:
    with database.db.connection_context():
        return rotating_qr.live_code(tenant.org, reload(ticket.id), now=at).text


def _check_in(tenant, text: str, **body):
    return tenant.staff.post("/events/check-in", json={"qrPayload": text, **body})


def test_a_live_code_is_admitted_and_one_captured_70_seconds_earlier_is_refused(tenant, clock_at):
    event, ticket = _rotating_ticket(tenant, allow_reentry=True, reentry_limit=5)
    now = 1_900_000_003.0
    clock_at(now - 70)
    captured = _live(tenant, ticket)          # a screenshot taken 70 s ago
    clock_at(now)
    stale = _check_in(tenant, captured, eventId=event.id)
    assert stale.status_code == 409, stale.get_json()
    body = stale.get_json()
    assert (body["type"], body["reason"]) == ("qr_expired", "stale_code")
    assert "ticket page" in body["message"]
    assert reload(ticket.id).scan_count == 0
    validation = tenant.staff.post("/events/tickets/validate", json={"qrPayload": captured}).get_json()
    assert validation == {"valid": False, "reason": "stale_code", "ticket": None, "acceptedScanPoints": None}

    current = _live(tenant, ticket)
    assert tenant.staff.post("/events/tickets/validate", json={"qrPayload": current}).get_json()["valid"] is True
    admitted = _check_in(tenant, current, eventId=event.id)
    assert admitted.status_code == 200, admitted.get_json()
    assert admitted.get_json()["admitted"] is True and reload(ticket.id).scan_count == 1
    # 59 s after its step began the same code is still within the minute; 61 s after, it is not.
    step_start = rotating_qr.step_at(now) * 15
    clock_at(step_start + 59)
    assert _check_in(tenant, current).status_code == 200
    clock_at(step_start + 61)
    assert _check_in(tenant, current).get_json()["reason"] == "stale_code"
    # A code one step ahead (the phone's clock a little fast) is admitted; two steps ahead is not.
    assert _check_in(tenant, _live(tenant, ticket, step_start + 61 + 15)).status_code == 200
    assert _check_in(tenant, _live(tenant, ticket, step_start + 61 + 31)).get_json()["reason"] == "stale_code"


def test_a_tampered_code_or_step_is_forged(tenant):
    event, ticket = _rotating_ticket(tenant)
    raw = bytearray(qr.b45decode(_live(tenant, ticket)[4:]))
    wrong_code = bytes(raw[:95]) + bytes(b ^ 0x01 for b in raw[95:])
    older_step = bytes(raw[:91]) + (int.from_bytes(raw[91:95], "big") + 1).to_bytes(4, "big") + bytes(raw[95:])
    for forged in (wrong_code, older_step):
        response = _check_in(tenant, "BO2:" + qr.b45encode(forged), eventId=event.id)
        assert response.status_code == 422, response.get_json()
        assert (response.get_json()["type"], response.get_json()["reason"]) == ("invalid_qr", "forged")
    short = _check_in(tenant, "BO2:" + qr.b45encode(bytes(raw[:99])))
    assert short.status_code == 422 and short.get_json()["reason"] == "unknown"
    assert reload(ticket.id).scan_count == 0
    with database.db.connection_context():
        assert CheckIn.select().where(CheckIn.ticket == ticket.id).count() == 0


def test_a_code_made_with_another_events_secret_is_forged(tenant):
    event, ticket = _rotating_ticket(tenant)
    other, _ = make_event(tenant)
    with database.db.connection_context():
        stranger_key = rotating_qr.ticket_key(rotating_qr.door_secret(tenant.org, other.id), ticket.id)
        step = rotating_qr.step_at(rotating_qr.unix_now())
        text = qr.live_text(qr.signed_bytes_for(tenant.org, reload(ticket.id)), step,
                            rotating_qr.code_for(stranger_key, step))
    assert _check_in(tenant, text).get_json()["reason"] == "forged"


def test_the_static_code_of_a_rotating_type_is_refused_but_a_typed_id_is_admitted(tenant):
    event, ticket = _rotating_ticket(tenant)
    static = qr.payload_for(tenant.org, reload(ticket.id))
    refused = _check_in(tenant, static, eventId=event.id, scanPoint="main")
    assert refused.status_code == 409, refused.get_json()
    body = refused.get_json()
    assert (body["type"], body["reason"]) == ("live_code_required", "live_code_required")
    assert body["ticket"]["id"] == ticket.id and reload(ticket.id).scan_count == 0
    validation = tenant.staff.post("/events/tickets/validate", json={"qrPayload": static}).get_json()
    assert (validation["valid"], validation["reason"]) == (False, "live_code_required")
    with database.db.connection_context():
        assert [c.result for c in CheckIn.select().where(CheckIn.ticket == ticket.id)] == ["live_code_required"]
    # `wrong_event` comes first; manual entry by id is staff's override and is admitted.
    other, _ = make_event(tenant)
    assert _check_in(tenant, static, eventId=other.id).get_json()["reason"] == "wrong_event"
    typed = tenant.staff.post(f"/events/check-in/{ticket.id}", json={"eventId": event.id})
    assert typed.status_code == 200 and typed.get_json()["admitted"] is True


def test_static_types_are_unchanged_and_take_a_live_code_too(tenant):
    event, ticket_type = make_event(tenant)
    (ticket, second) = issue(tenant, ticket_type, 2)
    assert _check_in(tenant, qr.payload_for(tenant.org, reload(ticket.id)), eventId=event.id).status_code == 200
    # A live code of a static type's ticket (made with the event's secret) is no weaker than its static code.
    assert _check_in(tenant, _live(tenant, second), eventId=event.id).status_code == 200


def test_the_rule_table_names_the_new_rules_in_place():
    table = door_rules.as_json()
    assert [rule["name"] for rule in table["code"]] == ["unknown", "forged", "stale_code"]
    stale = table["code"][2]
    assert (stale["status"], stale["type"]) == (409, "qr_expired")
    assert {k: v for k, v in stale["params"].items() if k != "format"} == {
        "stepSeconds": 15, "maxAgeSeconds": 60, "maxAheadSeconds": 15}
    assert "BO2:" in stale["params"]["format"] and "liveCode" in table["code"][1]["params"]
    names = [rule["name"] for rule in table["ticket"]]
    assert names[:2] == ["wrong_event", "live_code_required"]
    live = table["ticket"][1]
    assert (live["status"], live["type"], live["params"]) == (409, "live_code_required", {"typeField": "rotatingQr"})


# --- the ticket type's opt-in -----------------------------------------------------------------------------

def test_rotating_qr_is_opt_in_on_the_staff_api_and_refused_with_a_barcode_pool(tenant):
    from test_purchase_support import make_event as api_event
    event_id = api_event(tenant)
    plain = tenant.staff.post(f"/events/{event_id}/ticket-types", json={"name": "GA", "price": 0, "capacity": 5})
    assert plain.get_json()["data"]["rotatingQr"] is False
    made = tenant.staff.post(f"/events/{event_id}/ticket-types",
                             json={"name": "VIP", "price": 0, "capacity": 5, "rotatingQr": True})
    assert made.status_code == 201 and made.get_json()["data"]["rotatingQr"] is True
    bad = tenant.staff.post(f"/events/{event_id}/ticket-types", json={"name": "X", "rotatingQr": "sometimes"})
    assert bad.status_code == 422 and "rotatingQr" in json.dumps(bad.get_json())

    pool = tenant.staff.post("/ticket-configurations", json={"name": "Pool", "enforce_barcode_pool": True})
    assert pool.status_code == 201, pool.get_json()
    pool_id = pool.get_json()["data"]["id"] if "data" in pool.get_json() else pool.get_json()["id"]
    type_id = made.get_json()["data"]["id"]
    refused = tenant.staff.patch(f"/events/ticket-types/{type_id}", json={"ticketConfigurationId": pool_id})
    assert refused.status_code == 422, refused.get_json()
    assert refused.get_json()["type"] == "rotating_qr_with_barcode_pool"
    assert "rotatingQr" in refused.get_json()["errors"]["json"]
    assert tenant.staff.get(f"/events/ticket-types/{type_id}").get_json()["data"]["ticketConfigurationId"] is None
    created = tenant.staff.post(f"/events/{event_id}/ticket-types", json={
        "name": "Y", "rotatingQr": True, "ticketConfigurationId": pool_id})
    assert created.status_code == 422 and created.get_json()["type"] == "rotating_qr_with_barcode_pool"

    free = tenant.staff.post("/ticket-configurations", json={"name": "Free"}).get_json()
    free_id = free["data"]["id"] if "data" in free else free["id"]
    moved = tenant.staff.patch(f"/events/ticket-types/{type_id}", json={"ticketConfigurationId": free_id})
    assert moved.status_code == 200
    enforce = tenant.staff.patch(f"/ticket-configurations/{free_id}", json={"enforce_barcode_pool": True})
    assert enforce.status_code == 422 and enforce.get_json()["type"] == "rotating_qr_with_barcode_pool"
    off = tenant.staff.patch(f"/events/ticket-types/{type_id}", json={"rotatingQr": False})
    assert off.status_code == 200 and off.get_json()["data"]["rotatingQr"] is False


# --- the /qr answers ------------------------------------------------------------------------------------------

def _decoded(png: bytes) -> str:
    return zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))[0].text


def test_the_qr_route_of_a_rotating_ticket_serves_the_current_code_with_its_expiry(tenant, clock_at):
    event, ticket = _rotating_ticket(tenant)
    now = 1_900_000_020.0
    clock_at(now)
    response = tenant.staff.get(f"/events/tickets/{ticket.id}/qr")
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert response.headers["Cache-Control"] == "no-store"
    step = rotating_qr.step_at(now)
    assert response.headers["X-Code-Expires-At"] == "2030-03-17T17:47:15Z" == (
        rotating_qr.expires_at(step).strftime("%Y-%m-%dT%H:%M:%SZ"))
    text = _decoded(response.data)
    assert text == _live(tenant, ticket, now)
    assert _check_in(tenant, text, eventId=event.id).status_code == 200

    _, static_type = make_event(tenant)
    (plain,) = issue(tenant, static_type)
    unchanged = tenant.staff.get(f"/events/tickets/{plain.id}/qr")
    assert "X-Code-Expires-At" not in unchanged.headers and unchanged.headers.get("Cache-Control") != "no-store"
    assert _decoded(unchanged.data) == qr.payload_for(tenant.org, reload(plain.id))


# --- PDF, wallet pass and e-mail of a rotating ticket: no fixed code, the ticket page instead ------------------

def _rotating_owned(tenant):
    """A customer of `tenant` holding one ticket of a rotating type (made through the staff API)."""
    from test_purchase_support import make_event as api_event

    event_id = api_event(tenant)
    type_id = tenant.staff.post(f"/events/{event_id}/ticket-types", json={
        "name": "Live", "price": 0, "capacity": 5, "rotatingQr": True}).get_json()["data"]["id"]
    fan = tenant.customer(name="Rita Live")
    [ticket] = fan.post("/client/events/tickets/purchase", json={
        "eventId": event_id, "items": [{"ticketTypeId": type_id, "quantity": 1}]}).get_json()["tickets"]
    return fan, ticket


def _links_the_ticket_page(text: str, tenant, ticket_id: str) -> bool:
    """Whether `text` holds a link to the ticket page of `ticket_id` (its signed token names that ticket)."""
    import re

    from core.services.ticket_links import TICKET_PAGE_PURPOSE, ticket_for_signed_link

    found = re.search(rf"/e/{tenant.orgid}/tickets/([A-Za-z0-9_.-]+)", text)
    if found is None:
        return False
    with database.db.connection_context():
        org, ticket = ticket_for_signed_link(TICKET_PAGE_PURPOSE, found.group(1))
    return (org.id, ticket.id) == (tenant.orgid, ticket_id)


def test_the_pdf_prints_no_qr_but_the_ticket_pages_link(tenant):
    from pypdf import PdfReader
    from test_ticket_pdf import _images_in

    fan, ticket = _rotating_owned(tenant)
    pdf = fan.get(f"/client/events/tickets/{ticket['id']}/pdf")
    assert pdf.status_code == 200 and _images_in(pdf.data) == 0
    text = " ".join(PdfReader(io.BytesIO(pdf.data)).pages[0].extract_text().split())
    assert "changes every 15 seconds" in text and "refused" in text
    joined = text.replace(" ", "").replace(f"Ticket{ticket['id']}", " ")   # the link wraps over lines
    assert _links_the_ticket_page(joined, tenant, ticket["id"])


def test_the_wallet_pass_has_no_barcode_but_says_to_open_the_ticket_page(tenant):
    from test_wallet import unzip
    from wallet_certs import configure_wallet, make_pass_certificate

    fan, ticket = _rotating_owned(tenant)
    configure_wallet(tenant, make_pass_certificate())
    answer = fan.get(f"/client/events/tickets/{ticket['id']}/wallet.pkpass")
    assert answer.status_code == 200, answer.get_json()
    body = json.loads(unzip(answer.data)["pass.json"])
    assert "barcodes" not in body and "barcode" not in body
    assert {"key": "liveCode", "label": "ENTRY", "value": "Open your ticket page"} in body["eventTicket"][
        "auxiliaryFields"]
    back = body["eventTicket"]["backFields"][0]
    assert back["key"] == "ticketPage" and _links_the_ticket_page(back["value"], tenant, ticket["id"])


def test_the_ticket_email_links_the_ticket_page_instead_of_a_qr(tenant):
    from smtp_server import SmtpServer
    from test_notifications import parts

    smtp = SmtpServer().start()
    try:
        tenant.enable("notifications")
        tenant.configure("notifications", smtp_host="127.0.0.1", smtp_port=str(smtp.port))
        _, ticket = _rotating_owned(tenant)
        [mail] = [m for m in smtp.messages if m["X-Boxoffice-Kind"] == "tickets_issued"]
    finally:
        smtp.stop()
    assert parts(mail, "image/png") == []
    text = parts(mail, "text/plain")[0].get_content()
    html = parts(mail, "text/html")[0].get_content()
    assert _links_the_ticket_page(text, tenant, ticket["id"]) and _links_the_ticket_page(html, tenant, ticket["id"])
    assert "changes every 15 seconds" in text
    assert "PAGE-LINK-SLOT" not in text + html


# --- the door secret under concurrency: several server processes make it at once, one wins ----------------------

def test_processes_racing_to_make_an_events_door_secret_keep_one(tenant):
    import threading

    import requests
    from procs import ServerProcess, boxoffice_env, free_port, gunicorn_command

    event, ticket = _rotating_ticket(tenant)
    port = free_port()
    with ServerProcess(gunicorn_command(port, workers=3), port, env=boxoffice_env()) as server:
        barrier, answers = threading.Barrier(12), [None] * 12

        def fetch(i: int) -> None:
            barrier.wait()
            answers[i] = requests.get(f"{server.url}/events/tickets/{ticket.id}/qr", headers=tenant.staff.headers(),
                                      timeout=60)

        threads = [threading.Thread(target=fetch, args=(i,)) for i in range(12)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(90)
    assert [a.status_code for a in answers] == [200] * 12
    with database.db.connection_context():
        stored = Event.get_by_id(event.id).door_secret
        rotating_qr._SECRETS._entries.clear()
        secret = rotating_qr.door_secret(tenant.org, event.id, create=False)
    assert stored is not None and secret is not None
    texts = {_decoded(answer.content) for answer in answers}
    for text in texts:   # every process served codes of the one stored secret
        claims = qr.verify_payload(tenant.org.signing_public_key, text)
        assert claims.code == rotating_qr.code_for(rotating_qr.ticket_key(secret, ticket.id), claims.step)
    assert _check_in(tenant, sorted(texts)[-1], eventId=event.id).status_code == 200


def test_migration_28_adds_the_columns_an_older_database_lacks_and_is_idempotent(tenant):
    from core.migrations import m0028_rotating_qr
    from core.models import TicketType

    event, ticket_type = make_event(tenant)
    with database.db.connection_context():
        database.db.execute_sql('ALTER TABLE "ticket_type" DROP COLUMN "rotating_qr"')
        database.db.execute_sql('ALTER TABLE "event" DROP COLUMN "door_secret"')
        m0028_rotating_qr.upgrade()
        m0028_rotating_qr.upgrade()  # idempotent
        assert "rotating_qr" in {column.name for column in database.db.get_columns("ticket_type")}
        assert "door_secret" in {column.name for column in database.db.get_columns("event")}
        assert TicketType.get_by_id(ticket_type.id).rotating_qr is False   # existing types keep the static QR
        assert Event.get_by_id(event.id).door_secret is None
    (ticket,) = issue(tenant, ticket_type)
    assert _check_in(tenant, qr.payload_for(tenant.org, reload(ticket.id))).status_code == 200

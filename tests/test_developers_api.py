"""The developers_api plugin (002 at /developers/v1.0) and the core's event presentation fields and covers behind it.

Calls use `Authorization: Bearer <api key>` and no `orgid`. 002's request examples are replayed in
test_developers_api_replay.py; the shared set-up and the PDF/QR readers are here.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import struct
import zlib

import pytest
import zxingcpp
from conftest import make_tenant
from PIL import Image
from test_events import iso
from test_purchase_support import make_type

PREFIX = "/developers/v1.0"


def key_call(tenant, method: str, path: str, **kwargs):
    """A request with the tenant's API key as `Authorization: Bearer <key>` and no `orgid`."""
    headers = {"Authorization": f"Bearer {tenant.admin_api_key}", **kwargs.pop("headers", {})}
    return tenant._flask.open(PREFIX + path, method=method, headers=headers, **kwargs)


def ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.get_json()
    return response.get_json()


def refused(response, status: int, type_: str) -> dict:
    """A 002 error: the status, `success: false` and the machine `type`, with a message."""
    body = response.get_json()
    assert response.status_code == status, body
    assert body["success"] is False and body["type"] == type_ and body["message"], body
    return body


def photo(width: int = 1200, height: int = 900, fmt: str = "JPEG", exif: bool = True) -> bytes:
    """A real photo-like image with EXIF (camera model and GPS) in it."""
    image = Image.new("RGB", (width, height))
    for x in range(0, width, 50):
        image.paste((x % 256, 90, 200 - x % 200), (x, 0, x + 50, height))
    out = io.BytesIO()
    if exif:
        data = Image.Exif()
        data[0x0110] = "Spy Camera 3000"
        data[0x8825] = {1: "N", 2: (48.0, 51.0, 30.0)}
        image.save(out, fmt, exif=data.tobytes())
    else:
        image.save(out, fmt)
    return out.getvalue()


def pdf_pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page\b", pdf))


def _png(width: int, height: int, bits: int, color: int, idat: bytes) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, bits, color, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def _g4_tiff(width: int, height: int, data: bytes, black_is_1: bool) -> bytes:
    """A one-strip TIFF around CCITT group 4 data (how fpdf2 embeds a 1-bit image)."""
    tags = [(256, 4, width), (257, 4, height), (258, 3, 1), (259, 3, 4), (262, 3, 0 if black_is_1 else 1),
            (273, 4, 0), (278, 4, height), (279, 4, len(data))]
    ifd_size = 2 + 12 * len(tags) + 4
    offset = 8 + ifd_size
    entries = b"".join(struct.pack("<HHII", tag, kind, 1, offset if tag == 273 else value)
                       if kind == 4 else struct.pack("<HHIHH", tag, kind, 1, value, 0) for tag, kind, value in tags)
    return b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", len(tags)) + entries + b"\x00" * 4 + data


def pdf_images(pdf: bytes) -> list[Image.Image]:
    """The images a PDF embeds, decoded: fpdf2 keeps a PNG's IDAT data (FlateDecode with PNG predictors), written
    back into a PNG, or a 1-bit image's CCITT group 4 data, written back into a TIFF."""
    found = []
    for match in re.finditer(rb"<<((?:(?!>>\s*stream).)*?)>>\s*stream\r?\n", pdf, re.S):
        head = match.group(1)
        if not re.search(rb"/Subtype\s*/Image", head):
            continue
        number = {name: int(value) for name, value in re.findall(rb"/(Length|Width|Height|BitsPerComponent)\s+(\d+)",
                                                                  head)}
        data = pdf[match.end():match.end() + number[b"Length"]]
        width, height = number[b"Width"], number[b"Height"]
        if b"CCITTFaxDecode" in head:
            image = Image.open(io.BytesIO(_g4_tiff(width, height, data, b"/BlackIs1 true" in head)))
        else:
            color = {b"DeviceGray": 0, b"DeviceRGB": 2}[re.search(rb"/ColorSpace\s*/(\w+)", head).group(1)]
            image = Image.open(io.BytesIO(_png(width, height, number[b"BitsPerComponent"], color, data)))
        image.load()
        found.append(image)
    return found


def qr_texts(pdf: bytes) -> list[str]:
    """The QR payloads a PDF shows, page by page."""
    texts = []
    for image in pdf_images(pdf):
        results = zxingcpp.read_barcodes(image.convert("L"))
        texts += [result.text for result in results]
    return texts


@pytest.fixture
def partner(app):
    """A tenant with the plugin: a published event at a venue with a paid (VIP, 100 seats) and a free
    (Standard, 250 seats) ticket type."""
    tenant = make_tenant(app, "Jazz Org", plugins=("developers_api",))
    staff = tenant.staff
    venue = ok(staff.post("/venues", json={"name": "Salle Pleyel", "city": "Paris", "country": "FR",
                                           "tz": "Europe/Paris"}), 201)["data"]
    start = dt.datetime.now(dt.UTC).replace(microsecond=0, tzinfo=None) + dt.timedelta(days=30)
    event = ok(staff.post("/events", json={"name": "Concert de Jazz", "venue_id": venue["id"],
                                           "starts_at": iso(start), "ends_at": iso(start + dt.timedelta(hours=6)),
                                           "published_at": iso(start - dt.timedelta(days=60))}), 201)["data"]
    tenant.event = event
    tenant.vip = make_type(tenant, event["id"], name="VIP", price=80, currency="EUR", capacity=100)
    tenant.standard = make_type(tenant, event["id"], name="Standard", price=0, currency="EUR", capacity=250)
    return tenant


def test_events_list_and_one_event_in_002_shapes(partner, config):
    body = ok(key_call(partner, "GET", "/events?page=1&limit=20"))
    assert body["success"] is True and body["paginate"] == {"hasNextPage": False, "nextPage": None}
    [event] = body["events"]
    org, slug = partner.orgid, "concert-de-jazz"
    assert event == {"id": partner.event["id"], "name": "Concert de Jazz", "slug": slug, "path": f"/{slug}",
                     "dateStart": partner.event["start"]["utc"].replace("Z", ".000Z"),
                     "dateEnd": partner.event["end"]["utc"].replace("Z", ".000Z"),
                     "location": "Salle Pleyel, Paris, FR", "publish": True, "cover": None,
                     "checkoutUrl": f"{config.public_url}/e/{org}/{slug}/checkout",
                     "siteUrl": f"{config.public_url}/e/{org}/{slug}"}
    one = ok(key_call(partner, "GET", f"/event/{partner.event['id']}"))
    assert one["event"] == event
    assert one["tickets"] == [{"id": partner.vip, "name": "VIP", "available": True, "quantity": 100},
                              {"id": partner.standard, "name": "Standard", "available": True, "quantity": 250}]
    assert ok(key_call(partner, "GET", f"/tickets?eventId={partner.event['id']}"))["tickets"] == one["tickets"]


def test_create_anonymous_and_named_tickets_with_a_pdf_per_tier(partner):
    body = {"eventId": partner.event["id"], "tickets": [{"ticket_id": partner.vip, "quantity": 2},
                                                         {"ticket_id": partner.standard, "quantity": 1}]}
    created = ok(key_call(partner, "POST", "/tickets/create", json=body))
    assert created["success"] is True and created["participant"] is None
    assert [(t["name"], t["quantity"]) for t in created["tickets"]] == [("VIP", 2), ("Standard", 1)]
    pdf = partner._flask.get(created["tickets"][0]["url"].split("127.0.0.1:8000", 1)[-1])
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf_pages(pdf.data) == 2
    payloads = qr_texts(pdf.data)
    assert len(payloads) == 2 and len(set(payloads)) == 2


def _create(partner, tickets: list[tuple[str, int]], participant: dict | None = None, **kwargs):
    body = {"eventId": partner.event["id"], "tickets": [{"ticket_id": t, "quantity": q} for t, q in tickets]}
    if participant is not None:
        body["participant"] = participant
    return key_call(partner, "POST", "/tickets/create", json=body, **kwargs)


def _local(url: str) -> str:
    return url.split("127.0.0.1:8000", 1)[-1]


def _tiers(partner) -> dict:
    tiers = ok(key_call(partner, "GET", f"/tickets?eventId={partner.event['id']}"))["tickets"]
    return {t["name"]: (t["available"], t["quantity"]) for t in tiers}


def test_the_pdf_holds_valid_tickets_of_a_partner_sale_paid_to_the_partner(partner):
    created = ok(_create(partner, [(partner.vip, 3)]))
    [tier] = created["tickets"]
    assert (tier["name"], tier["quantity"]) == ("VIP", 3)
    pdf = partner._flask.get(_local(tier["url"]))
    assert pdf.status_code == 200 and pdf.headers["Cache-Control"] == "private, no-store"
    assert pdf_pages(pdf.data) == 3
    seen = set()
    for payload in qr_texts(pdf.data):
        check = ok(partner.staff.post("/events/tickets/validate", json={"qrPayload": payload}))
        assert check["valid"] is True, check
        ticket = ok(partner.staff.get(f"/events/tickets/{check['ticket']['id']}"))
        assert ticket["source"] == "partner" and ticket["ticketTypeId"] == partner.vip
        assert ticket["price"] == {"amount": 8000, "currency": "EUR"}
        seen.add(ticket["id"])
    assert len(seen) == 3
    listed = ok(partner.staff.get(f"/events/{partner.event['id']}/tickets"))["data"]
    assert {t["id"] for t in listed if t["source"] == "partner"} == seen
    from core import db as database
    from core.models import Booking, Payment

    with database.db.connection_context():
        [booking] = Booking.select().where(Booking.org == partner.orgid)
        assert (booking.source, booking.status, booking.amount, booking.currency) == ("partner", "confirmed", 24000,
                                                                                       "EUR")
        [payment] = Payment.select().where(Payment.booking == booking.id)
        assert (payment.amount, payment.gateway, payment.reference) == (24000, "offline", f"partner:{booking.id}")
    assert _tiers(partner)["VIP"] == (True, 97)


def test_a_tampered_or_expired_pdf_link_is_refused(partner, monkeypatch):
    import itsdangerous.timed

    url = _local(ok(_create(partner, [(partner.standard, 1)]))["tickets"][0]["url"])
    assert partner._flask.get(url).status_code == 200
    token = url.rsplit("/", 1)[1]
    tampered = url[:-len(token)] + token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    response = partner._flask.get(tampered)
    assert response.status_code == 404 and response.get_json()["type"] == "tickets_not_found"
    from core.services.ticket_pdf import TICKETS_PDF_MAX_AGE_SECONDS

    later = itsdangerous.timed.time.time() + TICKETS_PDF_MAX_AGE_SECONDS + 60
    monkeypatch.setattr(itsdangerous.timed.time, "time", lambda: later)
    response = partner._flask.get(url)
    assert response.status_code == 404 and response.get_json()["type"] == "tickets_not_found"


def test_tickets_create_is_idempotent_with_an_idempotency_key(partner):
    key = {"Idempotency-Key": "partner-order-1"}
    first = _create(partner, [(partner.vip, 2)], headers=key)
    again = _create(partner, [(partner.vip, 2)], headers=key)
    assert ok(first) == ok(again) and again.headers.get("Idempotent-Replayed") == "true"
    assert _tiers(partner)["VIP"] == (True, 98)
    other = _create(partner, [(partner.vip, 1)], headers=key)
    refused(other, 422, "idempotency_mismatch")
    assert _tiers(partner)["VIP"] == (True, 98)
    ok(_create(partner, [(partner.vip, 2)]))   # no key: a second sale
    assert _tiers(partner)["VIP"] == (True, 96)


def test_capacity_sale_window_and_order_limits_apply(partner):
    staff = partner.staff
    small = make_type(partner, partner.event["id"], name="Balcony", price=20, currency="EUR", capacity=3,
                      orderMax=2)
    soon = (dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    early = make_type(partner, partner.event["id"], name="Early", price=0, currency="EUR", capacity=10,
                      saleStart=soon)
    assert _tiers(partner)["Balcony"] == (True, 3) and _tiers(partner)["Early"] == (False, 10)
    refused(_create(partner, [(small, 3)]), 422, "above_order_max")
    refused(_create(partner, [(early, 1)]), 422, "sale_not_started")
    ok(_create(partner, [(small, 2)]))
    assert _tiers(partner)["Balcony"] == (True, 1)
    refused(_create(partner, [(small, 2)]), 409, "sold_out")
    refused(_create(partner, [(partner.vip, 1), (small, 2)]), 409, "sold_out")
    assert _tiers(partner)["Balcony"] == (True, 1) and _tiers(partner)["VIP"] == (True, 100)  # nothing changed
    ok(_create(partner, [(small, 1)]))
    assert _tiers(partner)["Balcony"] == (False, 0)
    hidden = make_type(partner, partner.event["id"], name="Crew", price=0, capacity=5, visibility="private")
    assert "Crew" not in _tiers(partner)
    refused(_create(partner, [(hidden, 1)]), 404, "ticket_type_not_found")
    ok(staff.patch(f"/events/{partner.event['id']}", json={"published_at": None}))
    assert _tiers(partner)["VIP"] == (False, 100)   # a draft sells nothing
    refused(_create(partner, [(partner.vip, 1)]), 404, "event_not_found")


def test_errors_are_002_bodies_and_another_tenant_is_invisible(partner, other_tenant, app):
    refused(key_call(partner, "GET", "/event/no-such-event"), 404, "event_not_found")
    refused(key_call(partner, "GET", "/tickets"), 422, "validation_error")
    refused(key_call(partner, "GET", "/events?page=0"), 422, "validation_error")
    body = refused(key_call(partner, "POST", "/tickets/create", json={"eventId": partner.event["id"],
                                                                      "tickets": []}), 422, "validation_error")
    assert "tickets" in body["errors"]["json"]
    refused(_create(partner, [(partner.vip, 1)], participant={"participantId": "x", "email": "a@example.com"}),
            422, "validation_error")
    refused(_create(partner, [(partner.vip, 1)], participant={"first_name": "No", "last_name": "Mail"}),
            422, "validation_error")
    refused(key_call(partner, "POST", "/tickets/create", data="{nope", content_type="application/json"),
            400, "invalid_json")
    bad_key = partner._flask.get(PREFIX + "/events", headers={"Authorization": "Bearer bo_nope_nope"})
    assert bad_key.status_code == 401 and bad_key.get_json()["success"] is False
    other = make_tenant(app, "Other partner", plugins=("developers_api",))
    refused(key_call(other, "GET", f"/event/{partner.event['id']}"), 404, "event_not_found")
    refused(key_call(other, "GET", f"/tickets?eventId={partner.event['id']}"), 404, "event_not_found")
    refused(key_call(other, "POST", "/tickets/create", json={
        "eventId": partner.event["id"], "tickets": [{"ticket_id": partner.vip, "quantity": 1}]}), 404,
        "event_not_found")
    assert ok(key_call(other, "GET", "/events"))["events"] == []
    refused(key_call(other_tenant, "GET", "/events"), 404, "plugin_not_enabled")   # not enabled
    assert _tiers(partner)["VIP"] == (True, 100)


def test_read_keys_cannot_create_tickets(partner, config):
    created = partner._flask.post(f"/operator/tenants/{partner.orgid}/api-keys", json={
        "name": "reader", "role": "staff", "scopes": ["read"]},
        headers={"Authorization": f"Bearer {config.operator_token}"})
    headers = {"Authorization": f"Bearer {ok(created, 201)['apiKey']}"}
    assert partner._flask.get(PREFIX + "/events", headers=headers).status_code == 200
    body = {"eventId": partner.event["id"], "tickets": [{"ticket_id": partner.vip, "quantity": 1}]}
    refused(partner._flask.post(PREFIX + "/tickets/create", json=body, headers=headers), 403, "insufficient_scope")
    assert _tiers(partner)["VIP"] == (True, 100)


def test_events_page_by_page(partner):
    for index in range(2):
        ok(partner.staff.post("/events", json={"name": f"Extra {index}", "starts_at": "2031-01-01T20:00:00Z",
                                               "ends_at": "2031-01-01T23:00:00Z"}), 201)
    first = ok(key_call(partner, "GET", "/events?page=1&limit=2"))
    assert len(first["events"]) == 2 and first["paginate"] == {"hasNextPage": True, "nextPage": 2}
    second = ok(key_call(partner, "GET", "/events?page=2&limit=2"))
    assert len(second["events"]) == 1 and second["paginate"] == {"hasNextPage": False, "nextPage": None}
    ids = [e["id"] for e in first["events"] + second["events"]]
    assert len(set(ids)) == 3 and partner.event["id"] in ids


def _participants(partner, query: str = "") -> dict:
    return ok(key_call(partner, "GET", f"/participants?eventId={partner.event['id']}{query}"))


def test_participants_are_found_again_by_email_and_by_id(partner, app):
    new = {"first_name": "John", "last_name": "Doe", "email": "John.Doe@Example.com", "phone": "+1234567890"}
    first = ok(_create(partner, [(partner.standard, 1)], participant=new))["participant"]
    assert (first["email"], first["phone"], first["confirmed"]) == ("John.Doe@Example.com", "+1234567890", True)
    again = ok(_create(partner, [(partner.standard, 1)], participant={"email": "john.doe@example.COM",
                                                                       "phone": "+999"}))["participant"]
    assert again["id"] == first["id"] and again["phone"] == "+1234567890"   # found by e-mail, never overwritten
    by_id = ok(_create(partner, [(partner.vip, 2)], participant={"participantId": first["id"]}))
    assert by_id["participant"]["id"] == first["id"]
    anonymous = ok(_create(partner, [(partner.standard, 1)]))
    listed = _participants(partner)["participants"]
    assert [p["id"] for p in listed][0] == first["id"] and len(listed) == 2
    [john] = [p for p in listed if p["id"] == first["id"]]
    assert john["ticket_count"] == 4
    [nobody] = [p for p in listed if p["id"] != first["id"]]
    assert nobody["email"] is None and nobody["ticket_count"] == 1
    reused = ok(_create(partner, [(partner.standard, 1)], participant={"participantId": nobody["id"]}))
    assert reused["participant"]["id"] == nobody["id"] and anonymous["participant"] is None
    assert {p["id"]: p["ticket_count"] for p in _participants(partner)["participants"]}[nobody["id"]] == 2
    one = _participants(partner, "&page=1&limit=1")
    assert len(one["participants"]) == 1 and one["paginate"] == {"hasNextPage": True, "nextPage": 2}
    other = make_tenant(app, "Other partner", plugins=("developers_api",))
    refused(key_call(other, "GET", f"/participants?eventId={partner.event['id']}"), 404, "event_not_found")


def test_an_unknown_participant_or_a_refused_sale_issues_and_records_nothing(partner, app):
    refused(_create(partner, [(partner.vip, 1)], participant={"participantId": "no-such-attendee"}), 404,
            "attendee_not_found")
    other = make_tenant(app, "Other partner", plugins=("developers_api",))
    theirs = ok(other.staff.post("/events", json={"name": "Theirs", "starts_at": "2031-01-01T20:00:00Z",
                                                  "ends_at": "2031-01-01T23:00:00Z",
                                                  "published_at": "2026-01-01T00:00:00Z"}), 201)["data"]
    free = make_type(other, theirs["id"], name="Free", price=0, capacity=5)
    made = ok(key_call(other, "POST", "/tickets/create", json={
        "eventId": theirs["id"], "tickets": [{"ticket_id": free, "quantity": 1}],
        "participant": {"email": "theirs@example.com"}}))["participant"]
    refused(_create(partner, [(partner.vip, 1)], participant={"participantId": made["id"]}), 404,
            "attendee_not_found")
    refused(_create(partner, [(partner.vip, 101)], participant={"email": "late@example.com", "phone": "+1"}),
            422, "validation_error")
    refused(_create(partner, [(partner.vip, 60), (partner.vip, 41)], participant={"email": "late@example.com"}),
            409, "sold_out")
    from core import db as database
    from core.models import Attendee

    with database.db.connection_context():
        assert not Attendee.select().where((Attendee.org == partner.orgid)
                                           & (Attendee.email_key == "late@example.com")).exists()
    assert _participants(partner)["participants"] == [] and _tiers(partner)["VIP"] == (True, 100)

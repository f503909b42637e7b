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

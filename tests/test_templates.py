"""Templates and event settings (issue 15, items 1-2): PDF ticket designs (with a background image) used by an
event's PDF tickets, ticket e-mail templates delivered through the loopback SMTP server and previewed, door tally
sheets read back as text, event settings shared across events, `pos_processing` on box-office sales, and the
422s / 404s / 409s of bad or foreign ids. PDFs are read back with pypdf."""

from __future__ import annotations

import io

import pytest
import zxingcpp
from PIL import Image
from pypdf import PdfReader
from smtp_server import SmtpServer
from test_purchase_support import make_event, make_type

from core import db as database

BOX_OFFICE = "/events/tickets/purchase"
PURCHASE = "/client/events/tickets/purchase"


def pdf_text(body: bytes) -> str:
    """Every page's text of a PDF, joined, runs of spaces as one."""
    pages = (page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)
    return "\n".join(" ".join(line.split()) for page in pages for line in page.splitlines())


def pdf_images(body: bytes) -> list:
    """The images drawn on the first page."""
    return list(PdfReader(io.BytesIO(body)).pages[0].images)


def png(size=(300, 420), color=(250, 230, 200)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


def created(response, status: int = 201) -> dict:
    assert response.status_code == status, response.get_json()
    return response.get_json()["data"]


def pdf_design(staff, **fields) -> dict:
    return created(staff.post("/pdf-templates", json={"name": "Design", **fields}))


def sell_box_office(staff, event_id: str, type_id: str, quantity: int = 1):
    return staff.post(BOX_OFFICE, json={"eventId": event_id, "email": "door@example.com", "name": "Door Buyer",
                                        "items": [{"ticketTypeId": type_id, "quantity": quantity}]})


def ticket_ids(response) -> list[str]:
    assert response.status_code == 201, response.get_json()
    return [t["id"] for t in response.get_json()["tickets"]]


# --- PDF ticket designs ---------------------------------------------------------------------------------

def test_a_tickets_pdf_uses_the_event_settings_design_then_its_ticket_types_design(tenant):
    staff = tenant.staff
    event = make_event(tenant, name="Harbour Lights")
    plain_type = make_type(tenant, event, name="Deck")
    form = {"template[name]": "Poster", "template[title]": "{event}: admit one",
            "template[blocks]": "holder,ticket_type,qr", "template[text_color]": "#102030",
            "template[accent_color]": "#aa0000", "template[font_size]": "12",
            "template[footer]": "Issued by {organiser} - ticket {ticket_id}",
            "template[background]": (io.BytesIO(png()), "paper.png")}
    poster = created(staff.post("/pdf-templates", data=form, content_type="multipart/form-data"))
    assert poster["blocks"] == ["holder", "ticket_type", "qr"] and poster["font_size"] == 12
    assert poster["background"]["content_type"] == "image/png" and poster["background"]["width"] == 300
    background = staff.get(poster["background"]["url"])
    assert background.status_code == 200 and Image.open(io.BytesIO(background.data)).size == (300, 420)

    chosen = {"setting": {"pdf_template_id": poster["public_id"]}}
    setting = created(staff.patch(f"/events/{event}/setting", json=chosen), 200)
    assert setting["pdf_template_id"] == poster["public_id"] and setting["event_count"] == 1
    [ticket] = ticket_ids(sell_box_office(staff, event, plain_type))
    pdf = staff.get(f"/events/tickets/{ticket}/pdf")
    text = pdf_text(pdf.data)
    assert "Harbour Lights: admit one" in text
    assert f"Issued by {tenant.org.name} - ticket {ticket}" in text
    assert "Door Buyer" in text and "Deck" in text
    assert "WHEN" not in text and "SEATS" not in text        # blocks the design left out
    assert len(pdf_images(pdf.data)) == 2                     # the background and the QR
    qr_png = max(pdf_images(pdf.data), key=lambda image: len(image.data))
    assert zxingcpp.read_barcodes(Image.open(io.BytesIO(qr_png.data)).convert("RGB"))

    # A ticket type's configuration names its own design, which wins over the event setting's.
    boarding = pdf_design(staff, name="Boarding", title="Boarding pass for {holder}", blocks=["when", "seats"],
                          page_size="A4")
    config = created(staff.post("/ticket-configurations", json={"name": "Cabin",
                                                                "pdf_template_id": boarding["public_id"]}))
    cabin = make_type(tenant, event, name="Cabin", ticketConfigurationId=config["id"])
    [cabin_ticket] = ticket_ids(sell_box_office(staff, event, cabin))
    cabin_pdf = staff.get(f"/events/tickets/{cabin_ticket}/pdf").data
    text = pdf_text(cabin_pdf)
    assert "Boarding pass for Door Buyer" in text and "WHEN" in text and "SEATS" in text
    assert "admit one" not in text and not pdf_images(cabin_pdf)          # no QR block, no background
    assert PdfReader(io.BytesIO(cabin_pdf)).pages[0].mediabox.width == pytest.approx(595.28, abs=1)  # A4

    # Without a setting's design the built-in layout is back.
    created(staff.patch(f"/events/{event}/setting", json={"pdf_template_id": None}), 200)
    text = pdf_text(staff.get(f"/events/tickets/{ticket}/pdf").data)
    assert "admit one" not in text and "WHEN" in text


def test_a_design_refuses_unknown_placeholders_blocks_and_colours_and_changes_nothing(tenant):
    staff = tenant.staff
    cases = [({"title": "{event} {price}"}, "title"), ({"footer": "{event.__class__}"}, "footer"),
             ({"blocks": ["qr", "logo"]}, "blocks"), ({"text_color": "red"}, "text_color"),
             ({"font_size": 40}, "font_size"), ({"page_size": "A3"}, "page_size"), ({"title": "{event"}, "title"),
             ({"shadow": True}, "shadow")]
    for fields, name in cases:
        answer = staff.post("/pdf-templates", json={"name": "Bad", **fields})
        assert answer.status_code == 422, (fields, answer.get_json())
        errors = answer.get_json()["errors"]
        assert name in errors or name in errors.get("json", {}), (fields, errors)
    interlaced = staff.post("/pdf-templates", data={"template[name]": "X", "template[background]": (
        io.BytesIO(b"%PDF-1.4 not an image"), "x.png")}, content_type="multipart/form-data")
    assert interlaced.status_code == 415
    assert staff.get("/pdf-templates").get_json()["data"] == []


def test_templates_are_invisible_to_another_tenant_and_their_ids_are_422_there(tenant, other_tenant):
    design = pdf_design(tenant.staff, name="Ours")
    foreign = other_tenant.staff
    assert foreign.get(f"/pdf-templates/{design['id']}").status_code == 404
    assert foreign.get(f"/pdf-templates/{design['id']}").get_json()["type"] == "template_not_found"
    assert foreign.patch(f"/pdf-templates/{design['id']}", json={"name": "Theirs"}).status_code == 404
    assert foreign.delete(f"/pdf-templates/{design['id']}").status_code == 404
    assert foreign.get(f"/pdf-templates/{design['id']}/background").status_code == 404
    assert foreign.get("/pdf-templates").get_json()["data"] == []
    event = make_event(other_tenant)
    refused = foreign.patch(f"/events/{event}/setting", json={"setting": {"pdf_template_id": design["public_id"]}})
    assert (refused.status_code, refused.get_json()["type"]) == (422, "template_not_found")
    assert list(refused.get_json()["errors"]) == ["pdf_template_id"]
    config = foreign.post("/ticket-configurations", json={"name": "C", "pdf_template_id": design["public_id"]})
    assert config.status_code == 422 and "pdf_template_id" in config.get_json()["errors"]
    assert tenant.staff.get(f"/pdf-templates/{design['id']}").get_json()["data"]["name"] == "Ours"


def test_unknown_or_wrong_kind_template_ids_are_a_422_naming_each_field(tenant):
    staff = tenant.staff
    event = make_event(tenant)
    email = created(staff.post("/ticket-email-templates", json={"name": "Mail", "body": "Hi {recipient_name}"}))
    answer = staff.patch(f"/events/{event}/setting", json={"setting": {
        "pdf_template_id": email["public_id"], "tally_template_id": 12345, "ticket_email_template_id": 999}})
    assert (answer.status_code, answer.get_json()["type"]) == (422, "template_not_found")
    assert set(answer.get_json()["errors"]) == {"pdf_template_id", "tally_template_id", "ticket_email_template_id"}
    assert staff.get(f"/events/{event}/setting").get_json()["data"]["id"] is None      # nothing was made
    bad_config = staff.post("/ticket-configurations", json={"name": "C", "pdf_template_id": 424242})
    assert (bad_config.status_code, bad_config.get_json()["type"]) == (422, "template_not_found")
    unknown_setting = staff.patch(f"/events/{event}", json={"event": {"setting_id": "no-such-setting"}})
    assert (unknown_setting.status_code, unknown_setting.get_json()["type"]) == (422, "setting_not_found")
    assert "setting_id" in unknown_setting.get_json()["errors"]


def test_a_template_in_use_cannot_be_deleted(tenant):
    staff = tenant.staff
    event = make_event(tenant)
    design = pdf_design(staff)
    created(staff.patch(f"/events/{event}/setting", json={"pdf_template_id": design["public_id"]}), 200)
    refused = staff.delete(f"/pdf-templates/{design['id']}")
    assert (refused.status_code, refused.get_json()["type"]) == (409, "template_in_use")
    created(staff.patch(f"/events/{event}/setting", json={"pdf_template_id": None}), 200)
    assert staff.delete(f"/pdf-templates/{design['id']}").status_code == 204
    assert staff.get(f"/pdf-templates/{design['id']}").status_code == 404


# --- event settings ---------------------------------------------------------------------------------------

def test_a_shared_setting_changes_for_every_event_that_names_it(tenant):
    staff = tenant.staff
    first, second = make_event(tenant, name="First"), make_event(tenant, name="Second")
    tally_a = created(staff.post("/tally-templates", json={"name": "A"}))
    tally_b = created(staff.post("/tally-templates", json={"name": "B"}))
    setting = created(staff.patch(f"/events/{first}/setting", json={"tally_template_id": tally_a["public_id"]}), 200)
    created(staff.patch(f"/events/{second}", json={"event": {"setting_id": setting["id"]}}), 200)
    shown = staff.get(f"/events/{second}?fields=id,setting_id,settings").get_json()["data"]
    assert shown["setting_id"] == setting["id"] and shown["settings"] == {"pos_processing": "inherit"}

    changed = created(staff.patch(f"/events/{second}/setting", json={"tally_template_id": tally_b["public_id"]}),
                      200)
    assert changed["id"] == setting["id"] and changed["event_count"] == 2
    assert staff.get(f"/events/{first}/setting").get_json()["data"]["tally_template_id"] == tally_b["public_id"]

    third = make_event(tenant, name="Third", setting_id=setting["id"])
    assert staff.get(f"/events/{third}/setting").get_json()["data"]["event_count"] == 3
    created(staff.patch(f"/events/{third}", json={"setting_id": None}), 200)
    assert staff.get(f"/events/{third}/setting").get_json()["data"]["id"] is None
    assert staff.get(f"/events/{first}/setting").get_json()["data"]["event_count"] == 2
    assert tenant.staff.get(f"/events/{first}/setting").status_code == 200


def test_pos_processing_disabled_refuses_box_office_sales_and_inherit_follows_the_tenant(tenant):
    staff = admin = tenant.staff  # the fixture's staff token is an admin's
    event = make_event(tenant, settings={"pos_processing": "disabled"})
    door = make_type(tenant, event, name="Door")
    refused = sell_box_office(staff, event, door)
    assert (refused.status_code, refused.get_json()["type"]) == (403, "pos_processing_disabled")
    assert staff.get(f"/events/{event}/tickets").get_json()["data"] == []
    online = tenant.customer().post(PURCHASE, json={"eventId": event, "items": [{"ticketTypeId": door, "quantity": 1}]})
    assert online.status_code == 201, online.get_json()          # customers still buy online

    created(staff.patch(f"/events/{event}", json={"event": {"settings": {"pos_processing": "inherit"}}}), 200)
    assert ticket_ids(sell_box_office(staff, event, door))        # the tenant's default: enabled
    assert admin.patch("/org/settings", json={"posProcessing": "disabled"}).get_json()["posProcessing"] == "disabled"
    inherited = sell_box_office(staff, event, door)
    assert (inherited.status_code, inherited.get_json()["type"]) == (403, "pos_processing_disabled")
    assert inherited.get_json()["setting"] == "organisation"
    created(staff.patch(f"/events/{event}", json={"event": {"settings": {"pos_processing": "enabled"}}}), 200)
    assert ticket_ids(sell_box_office(staff, event, door))        # the event's own setting wins
    assert admin.patch("/org/settings", json={"posProcessing": "sometimes"}).status_code == 422
    bad = staff.patch(f"/events/{event}", json={"event": {"settings": {"pos_processing": "maybe"}}})
    assert bad.status_code == 422
    shown = staff.get(f"/events/{event}?fields=settings").get_json()["data"]
    assert shown["settings"] == {"pos_processing": "enabled"}


# --- ticket e-mails ---------------------------------------------------------------------------------------

@pytest.fixture
def smtp():
    server = SmtpServer().start()
    yield server
    server.stop()


def test_the_ticket_email_uses_the_events_template_through_real_smtp(tenant, smtp):
    tenant.enable("notifications")
    tenant.configure("notifications", smtp_host="127.0.0.1", smtp_port=str(smtp.port))
    staff = tenant.staff
    event = make_event(tenant, name="Night Market")
    free = make_type(tenant, event, name="Entry", price=0)
    body = ("Hello {recipient_name},\n\nYour {ticket_count} tickets for {event_name} ({event_when}).\n"
            "Order {order_reference}.\n\n{ticket_links}\n\n{{braces}} stay - {organiser}")
    template = created(staff.post("/ticket-email-templates", json={
        "template": {"name": "Warm", "subject": "{event_name}: {ticket_count} tickets", "body": body}}))
    created(staff.patch(f"/events/{event}/setting",
                        json={"setting": {"ticket_email_template_id": template["public_id"]}}), 200)
    fan = tenant.customer(name="Mia Fan")
    bought = fan.post(PURCHASE, json={"eventId": event, "items": [{"ticketTypeId": free, "quantity": 2}]})
    assert bought.status_code == 201, bought.get_json()
    booking_id = bought.get_json()["bookingId"]

    [mail] = smtp.event_messages
    assert mail["Subject"] == "Night Market: 2 tickets" and mail["To"] == fan.email
    text = next(p for p in mail.walk() if p.get_content_type() == "text/plain").get_content()
    assert "Hello Mia Fan," in text and "Your 2 tickets for Night Market" in text
    assert f"Order {booking_id}." in text and "{braces} stay - " + tenant.org.name in text
    links = [line.split(": ", 1)[1] for line in text.splitlines() if line.startswith("Entry: ")]
    assert len(links) == 2
    downloaded = tenant.guest.flask.get(links[0][links[0].index("/tickets/pdf/"):])
    assert downloaded.status_code == 200 and "Night Market" in pdf_text(downloaded.data)
    html = next(p for p in mail.walk() if p.get_content_type() == "text/html").get_content()
    assert "Hello Mia Fan," in html and html.count("cid:qr-") == 2
    assert len([p for p in mail.walk() if p.get_content_type() == "image/png"]) == 2

    preview = created(staff.post(f"/ticket-email-templates/{template['id']}/preview", json={"bookingId": booking_id}),
                      200)
    assert preview["subject"] == "Night Market: 2 tickets" and f"Order {booking_id}." in preview["body"]
    sample = created(staff.post(f"/ticket-email-templates/{template['id']}/preview", json={}), 200)
    assert sample["subject"] == "Sample Event: 2 tickets"
    assert len(smtp.event_messages) == 1                                 # a preview sends nothing
    missing = staff.post(f"/ticket-email-templates/{template['id']}/preview", json={"bookingId": "nope"})
    assert (missing.status_code, missing.get_json()["type"]) == (404, "booking_not_found")


def test_an_email_template_refuses_unknown_placeholders_at_save_time(tenant):
    staff = tenant.staff
    for fields, name in (({"body": "Hi {first_name}"}, "body"), ({"body": "x", "subject": "{event_name!r}"}, "subject"),
                         ({"body": "{ticket_links[0]}"}, "body"), ({"body": "  "}, "body")):
        answer = staff.post("/ticket-email-templates", json={"name": "T", **fields})
        assert (answer.status_code, answer.get_json()["type"]) == (422, "invalid_template"), fields
        assert name in answer.get_json()["errors"]
    made = created(staff.post("/ticket-email-templates", json={"name": "T", "body": "Hi {holder_name}"}))
    assert made["subject"] == "Your tickets for {event_name}"
    patched = staff.patch(f"/ticket-email-templates/{made['id']}", json={"body": "Hi {nobody}"})
    assert patched.status_code == 422
    assert staff.get(f"/ticket-email-templates/{made['id']}").get_json()["data"]["body"] == "Hi {holder_name}"


# --- tally sheets -----------------------------------------------------------------------------------------

def test_the_tally_sheet_counts_sold_and_checked_in_per_ticket_type_in_the_chosen_layout(tenant):
    staff = tenant.staff
    event = make_event(tenant, name="Brass Band")
    stalls = make_type(tenant, event, name="Stalls", price=0, capacity=40)
    balcony = make_type(tenant, event, name="Balcony", price=0, capacity=10)
    sold = ticket_ids(sell_box_office(staff, event, stalls, 3))
    ticket_ids(sell_box_office(staff, event, balcony, 1))
    assert staff.post(f"/events/check-in/{sold[0]}", json={"eventId": event}).status_code == 200

    built_in = pdf_text(created_pdf(staff.get(f"/events/{event}/tally.pdf")))
    assert "Door tally: Brass Band" in built_in and "TICKET TYPE" in built_in and "CHECKED IN" in built_in
    assert "Stalls" in built_in and "Balcony" in built_in and "Printed " in built_in

    sheet = created(staff.post("/tally-templates", json={"name": "Door", "title": "{event} at the door",
                                                         "footer": "Count for {organiser}",
                                                         "columns": ["ticket_type", "sold", "checked_in"],
                                                         "boxes": 10}))
    created(staff.patch(f"/events/{event}/setting", json={"tally_template_id": sheet["public_id"]}), 200)
    text = pdf_text(created_pdf(staff.get(f"/events/{event}/tally.pdf")))
    assert "Brass Band at the door" in text and f"Count for {tenant.org.name}" in text
    assert "REMAINING" not in text and "PRICE" not in text
    lines = text.splitlines()
    assert "Stalls 3 1" in lines and "Balcony 1 0" in lines
    bad = staff.post("/tally-templates", json={"name": "X", "columns": ["sold"], "boxes": 99})
    assert bad.status_code == 422 and set(bad.get_json()["errors"]) == {"columns", "boxes"}
    assert staff.get("/events/nope/tally.pdf").status_code == 404


def created_pdf(response) -> bytes:
    assert response.status_code == 200 and response.mimetype == "application/pdf", response.data[:200]
    return response.data


def test_a_long_tally_sheet_continues_on_a_new_page(tenant):
    staff = tenant.staff
    event = make_event(tenant)
    for index in range(30):
        make_type(tenant, event, name=f"Tier {index:02d}")
    reader = PdfReader(io.BytesIO(created_pdf(staff.get(f"/events/{event}/tally.pdf"))))
    assert len(reader.pages) >= 2
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert all(f"Tier {index:02d}" in text for index in range(30))
    assert reader.pages[1].extract_text().count("TICKET TYPE") == 1      # the header again


def test_the_migration_is_idempotent(db):
    from core.migrations import m0018_templates_and_settings

    with database.db.connection_context():
        m0018_templates_and_settings.upgrade()
        m0018_templates_and_settings.upgrade()

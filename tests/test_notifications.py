"""Notification emails end to end: real loopback SMTP, outbox .eml files, `boxoffice outbox`, retries,
tenant templates, the staff log API, and lifecycle events triggered through the real HTTP endpoints."""

from __future__ import annotations

import io

import pytest
import zxingcpp
from PIL import Image
from smtp_server import ACCOUNT_KINDS, SmtpServer, free_port, make_tickets
from test_purchase_support import make_event, make_type
from ticket_factory import issue

from core import db as database

PURCHASE = "/client/events/tickets/purchase"


@pytest.fixture
def smtp():
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def mailer(tenant, smtp):
    """A tenant with notifications enabled, sending through the loopback SMTP server."""
    tenant.enable("notifications")
    tenant.configure("notifications", smtp_host="127.0.0.1", smtp_port=str(smtp.port),
                     sender="Tenant A Tickets <tickets@tenant-a.test>")
    return tenant


def log_rows(tenant) -> list[dict]:
    """The tenant's send log, newest first, without the account e-mails (registering sends a verification link)."""
    response = tenant.staff.get("/notifications/messages?page[size]=50")
    assert response.status_code == 200, response.get_json()
    return [row for row in response.get_json()["data"] if row["kind"] not in ACCOUNT_KINDS]


def parts(message, content_type: str) -> list:
    return [p for p in message.walk() if p.get_content_type() == content_type]


def decode_qr(png: bytes) -> str:
    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert results, "no QR code found in the PNG"
    return results[0].text


def test_purchase_emails_tickets_with_inline_qr_and_one_pdf_each(mailer, smtp):
    from core.models import Org, Ticket
    from core.services import qr

    event = make_event(mailer)
    free = make_type(mailer, event, name="Free pass", price=0, capacity=5)
    fan = mailer.customer(name="Ana Fan")
    response = fan.post(PURCHASE, json={"eventId": event, "tickets": [{"ticketTypeId": free, "quantity": 2}]})
    assert response.status_code == 201, response.get_json()
    ticket_ids = [t["id"] for t in response.get_json()["tickets"]]

    assert len(smtp.event_messages) == 1
    mail = smtp.event_messages[0]
    assert mail["To"] == fan.email
    assert mail["From"] == "Tenant A Tickets <tickets@tenant-a.test>"
    assert "2 tickets" in mail["Subject"]
    pdfs = [p for p in mail.iter_attachments() if p.get_content_type() == "application/pdf"]
    assert sorted(p.get_filename() for p in pdfs) == sorted(f"ticket-{i}.pdf" for i in ticket_ids)
    assert all(p.get_content().startswith(b"%PDF-") for p in pdfs)
    html = parts(mail, "text/html")[0].get_content()
    images = parts(mail, "image/png")
    assert len(images) == 2
    with database.db.connection_context():
        org = Org.get_by_id(mailer.orgid)
        expected = {Ticket.get_by_id(i).id: qr.payload_for(org, Ticket.get_by_id(i)) for i in ticket_ids}
    for image in images:
        cid = image["Content-ID"].strip("<>")
        assert f"cid:{cid}" in html
        ticket_id = cid.removeprefix("qr-").removesuffix("@boxoffice")
        assert decode_qr(image.get_content()) == expected[ticket_id]

    [row] = log_rows(mailer)
    assert (row["kind"], row["to"], row["status"], row["attempts"], row["transport"]) == (
        "tickets_issued", fan.email, "sent", 1, "smtp")
    assert sorted(row["ticketIds"]) == sorted(ticket_ids) and row["sentAt"]
    assert "bodyText" not in row and "body_text" not in row


def test_a_holder_edit_to_another_email_sends_the_new_holder_the_ticket(mailer, smtp):
    event = make_event(mailer)
    editable = make_type(mailer, event, price=0, capacity=5, editable=True)
    fan = mailer.customer(name="Ana Fan")
    bought = fan.post(PURCHASE, json={"eventId": event, "tickets": [{"ticketTypeId": editable, "quantity": 1}]})
    ticket_id = bought.get_json()["tickets"][0]["id"]
    renamed = fan.patch(f"/client/events/tickets/{ticket_id}", json={"holderName": "Ana F."})
    assert renamed.status_code == 200 and len(smtp.event_messages) == 1  # a new name alone: no e-mail
    moved = fan.patch(f"/client/events/tickets/{ticket_id}", json={"holderName": "Bo Pal",
                                                                    "holderEmail": "bo@example.com"})
    assert moved.status_code == 200, moved.get_json()
    mail = smtp.event_messages[-1]
    assert mail["To"] == "bo@example.com" and "Ana F." in parts(mail, "text/plain")[0].get_content()
    assert [p.get_filename() for p in mail.iter_attachments()
            if p.get_content_type() == "application/pdf"] == [f"ticket-{ticket_id}.pdf"]
    assert [(row["kind"], row["to"]) for row in log_rows(mailer)][0] == ("holder_changed", "bo@example.com")


def test_outbox_mode_writes_eml_and_boxoffice_outbox_lists_it(tenant, config):
    import email
    import email.policy

    from click.testing import CliRunner

    from core.cli import cli
    from core.plugins import get_host

    tenant.enable("notifications")
    event = make_event(tenant)
    free = make_type(tenant, event, name="Free pass", price=0, capacity=5)
    response = tenant.guest.post(PURCHASE, json={"eventId": event, "email": "walkin@example.com", "name": "Walk In",
                                                 "items": [{"ticketTypeId": free, "quantity": 1}]})
    assert response.status_code == 201, response.get_json()
    folder = config.data_path / "outbox" / tenant.orgid
    files = list(folder.glob("*.eml"))
    assert len(files) == 1
    mail = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert mail["To"] == "walkin@example.com" and mail["Subject"].startswith("Your ticket for ")
    assert len([p for p in mail.iter_attachments() if p.get_content_type() == "application/pdf"]) == 1
    [row] = log_rows(tenant)
    assert (row["status"], row["transport"]) == ("sent", "outbox")

    get_host().pm.hook.register_commands(cli=cli)
    result = CliRunner().invoke(cli, ["outbox", "--org", tenant.orgid])
    assert result.exit_code == 0, result.output
    header, line = result.output.splitlines()[1:3]
    assert header.split()[:6] == ["time", "org", "kind", "to", "subject", "status"]
    assert tenant.orgid in line and "tickets_issued" in line and "walkin@example.com" in line and "sent" in line
    assert f"{tenant.orgid}/{files[0].name}" in line


def test_tenant_templates_override_subject_and_body_and_broken_ones_fall_back(mailer, smtp):
    mailer.configure("notifications", **{
        "template.tickets_issued.subject": "{{ org.name }} x {{ event.name }}: {{ tickets|length }} ticket(s)",
        "template.tickets_issued.text": "Hi {{ recipient_name }}! <b>{{ event.name }}</b>",
        "template.tickets_issued.html": "<p>Hi {{ recipient_name }} {% if %}</p>",
    })
    event = make_event(mailer, name="Rock <Night>")
    free = make_type(mailer, event, price=0)
    fan = mailer.customer(name="Bo")
    assert fan.post(PURCHASE, json={"eventId": event, "tickets": [{"ticketTypeId": free, "quantity": 1}]}
                    ).status_code == 201
    mail = smtp.event_messages[-1]
    assert mail["Subject"] == "Tenant A x Rock <Night>: 1 ticket(s)"
    assert parts(mail, "text/plain")[0].get_content().strip() == "Hi Bo! <b>Rock <Night></b>"
    html = parts(mail, "text/html")[0].get_content()
    assert "Rock &lt;Night&gt;" in html and "cid:qr-" in html  # the default, autoescaped


def test_transfer_sends_claim_email_and_refund_and_cancel_notify_holders(mailer, smtp):
    from core.kits.links import token_hash
    from core.models import Transfer

    event = make_event(mailer)
    ticket_type = make_type(mailer, event, price=0)
    fan = mailer.customer(name="Giver")
    body = fan.post(PURCHASE, json={"eventId": event, "tickets": [{"ticketTypeId": ticket_type, "quantity": 3}]}
                    ).get_json()
    first, second, third = (t["id"] for t in body["tickets"])
    smtp.messages.clear()

    moved = fan.post(f"/client/events/tickets/{first}/transfer", json={"toEmail": "friend@example.com",
                                                                         "toName": "Friend"})
    assert moved.status_code == 201, moved.get_json()
    [claim_mail] = smtp.event_messages
    assert claim_mail["To"] == "friend@example.com"
    text = parts(claim_mail, "text/plain")[0].get_content()
    token = text.split("claim?token=")[1].split()[0]
    assert "POST /client/events/tickets/claim" in text and f'"token": "{token}"' in text
    with database.db.connection_context():
        transfer = Transfer.get(Transfer.claim_token_hash == token_hash(token))
    assert not list(claim_mail.iter_attachments())

    friend = mailer.customer(email="friend@example.com", name="Friend")
    claimed = friend.post("/client/events/tickets/claim", json={"token": token})
    assert claimed.status_code == 200, claimed.get_json()
    assert transfer.new_ticket_id in claimed.get_data(as_text=True)
    received = smtp.event_messages[-1]  # "ticket received": the claim itself fires ticket_claimed
    assert received["To"] == "friend@example.com" and "Your ticket" in received["Subject"]
    assert len([p for p in received.iter_attachments() if p.get_content_type() == "application/pdf"]) == 1

    assert mailer.staff.post(f"/events/tickets/{second}/cancel").status_code == 200
    cancelled = smtp.event_messages[-1]
    assert cancelled["To"] == fan.email and "cancelled" in cancelled["Subject"]
    assert not parts(cancelled, "image/png")

    paid = issue(mailer, _paid_type(mailer, event), 1, email="payer@example.com", name="Payer")
    refunded = mailer.staff.post(f"/events/tickets/{paid[0].id}/refund", json={})
    assert refunded.status_code == 200, refunded.get_json()
    refund_mail = smtp.event_messages[-1]
    assert refund_mail["To"] == "payer@example.com" and "Refund" in refund_mail["Subject"]
    assert "15.00" in parts(refund_mail, "text/plain")[0].get_content()
    kinds = [row["kind"] for row in log_rows(mailer)]
    assert kinds[:4] == ["ticket_refunded", "ticket_cancelled", "ticket_received", "transfer_claim"]
    assert mailer.staff.get(f"/events/tickets/{third}").get_json()["status"] == "valid"


def _paid_type(tenant, event_id):
    from core.models import TicketType

    with database.db.connection_context():
        return TicketType.create(org=tenant.orgid, event=event_id, name="Paid", price=1500, currency="USD",
                                 capacity=10)


def test_smtp_down_is_retried_then_failed_then_resent(tenant):
    from plugins.notifications import service
    from plugins.notifications.models import Message

    tenant.enable("notifications")
    closed = free_port()
    tenant.configure("notifications", smtp_host="127.0.0.1", smtp_port=str(closed))
    booking, tickets = make_tickets(tenant.orgid, 1)
    _notify_issued(tenant, booking, tickets)  # the sale itself is unaffected: the hook only queues

    [row] = log_rows(tenant)
    assert (row["status"], row["attempts"]) == ("queued", 1)
    assert "ConnectionRefused" in row["lastError"]
    assert service.retry_delay_after(1) == 30 and service.retry_delay_after(3) == 120
    with database.db.connection_context():
        for attempt in range(2, service.MAX_ATTEMPTS):
            with pytest.raises(service.DeliveryFailed):
                service.deliver(tenant.orgid, row["id"])
            assert Message.get_by_id(row["id"]).attempts == attempt
        final = service.deliver(tenant.orgid, row["id"])
    assert (final.status, final.attempts) == ("failed", service.MAX_ATTEMPTS)

    server = SmtpServer().start()
    try:
        tenant.configure("notifications", smtp_port=str(server.port))
        resent = tenant.staff.post(f"/notifications/messages/{row['id']}/resend")
        assert resent.status_code == 202, resent.get_json()
        copy = resent.get_json()["data"]
        assert (copy["status"], copy["attempts"], copy["resentFrom"]) == ("sent", 1, row["id"])
        assert len(server.messages) == 1 and server.messages[0]["To"] == "buyer@example.com"
    finally:
        server.stop()
    with database.db.connection_context():
        assert service.deliver(tenant.orgid, copy["id"]).attempts == 1  # already sent: untouched


def _notify_issued(tenant, booking, tickets) -> None:
    from core.models import Org
    from core.plugins import hooks_for

    with database.db.connection_context():
        org = Org.get_by_id(tenant.orgid)
        hooks_for(org).notify("tickets_issued", org=org, booking=booking, tickets=tickets)


def test_log_api_is_staff_only_tenant_scoped_paged_and_needs_the_plugin(mailer, other_tenant, smtp):
    booking, tickets = make_tickets(mailer.orgid, 1)
    for _ in range(3):
        _notify_issued(mailer, booking, tickets)
    first = mailer.staff.get("/notifications/messages?page[size]=2").get_json()
    assert len(first["data"]) == 2 and first["meta"]["page"]["next_cursor"]
    rest = mailer.staff.get(f"/notifications/messages?page[size]=2&page[cursor]={first['meta']['page']['next_cursor']}")
    assert len(rest.get_json()["data"]) == 1
    message_id = first["data"][0]["id"]

    other_tenant.enable("notifications")
    foreign = other_tenant.staff.post(f"/notifications/messages/{message_id}/resend")
    assert foreign.status_code == 404 and foreign.get_json()["type"] == "message_not_found"
    assert other_tenant.staff.get("/notifications/messages").get_json()["data"] == []
    assert mailer.customer().get("/notifications/messages").status_code == 403
    bad = mailer.staff.get("/notifications/messages?page[cursor]=garbage")
    assert bad.status_code == 400 and bad.get_json()["type"] == "invalid_cursor"
    assert mailer.staff.get("/notifications/messages?status=weird").status_code == 422

    from conftest import make_tenant  # a tenant without the plugin: routes 404 and no email is queued

    plain = make_tenant(mailer.app, "Plain")
    response = plain.staff.get("/notifications/messages")
    assert response.status_code == 404 and response.get_json()["type"] == "plugin_not_enabled"
    booking, tickets = make_tickets(plain.orgid, 1)
    sent_before = len(smtp.event_messages)
    _notify_issued(plain, booking, tickets)
    assert len(smtp.event_messages) == sent_before


def test_claim_link_is_the_claim_page_else_the_public_url_of_the_settings(tenant, config):
    from core.models import Event, Org
    from plugins.notifications.service import claim_url

    booking, tickets = make_tickets(tenant.orgid, 1)
    settings = {"public_url": "https://tix.example.org/"}
    with database.db.connection_context():
        org, event = Org.get_by_id(tenant.orgid), Event.get_by_id(tickets[0].event_id)
        assert claim_url(org, event, settings, "a b") == "https://tix.example.org/claim?token=a+b"
    tenant.enable("pages")
    with database.db.connection_context():
        assert claim_url(org, event, settings, "a b") == \
            f"{config.public_url.rstrip('/')}/e/{tenant.orgid}/claim?token=a+b"

"""The order, claim and account pages in a real Chromium: a buyer opens the order page from the link of the real
confirmation e-mail (the loopback SMTP server's), reads its QR back (it verifies), downloads the PDF, transfers a
ticket; the recipient opens the claim link of their e-mail, creates an account, claims the ticket, and the old
QR no longer admits; the pages in French; a customer signs in and finds their orders. Screenshots of each page."""

from __future__ import annotations

import base64
import re
import time

import pytest
from pages_world import concert, pages_tenant
from pypdf import PdfReader
from test_notifications import decode_qr, smtp  # noqa: F401 - `smtp`: the loopback SMTP server fixture

from core import db as database
from core.models import Org
from core.services import qr


@pytest.fixture
def club(app, request):
    """A tenant with pages and e-mails through the loopback SMTP server (`club.smtp`), and its concert."""
    tenant = pages_tenant(app, plugins=("pages", "offline", "notifications"))
    tenant.smtp = request.getfixturevalue("smtp")
    tenant.configure("notifications", smtp_host="127.0.0.1", smtp_port=str(tenant.smtp.port))
    tenant.event = concert(tenant)
    return tenant


def free_type(tenant) -> str:
    types = tenant.staff.get(f"/events/{tenant.event['id']}/ticket-types").get_json()["data"]
    return next(t["id"] for t in types if t["name"] == "Free entry")


def mail_to(tenant, address: str, seconds: float = 10.0):
    """The e-mail the SMTP server received for `address` (waiting a little: the page server sends it)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = [m for m in tenant.smtp.messages if m["To"] == address]
        if found:
            return found[-1]
        time.sleep(0.05)
    raise AssertionError(f"no e-mail to {address}")


def path_in(message, pattern: str) -> str:
    """The path of the first link of the e-mail's text part matching `pattern`."""
    text = next(p for p in message.walk() if p.get_content_type() == "text/plain").get_content()
    return re.search(r"https?://[^/\s]+(" + pattern + r"[^\s]*)", text).group(1)


def verified_ticket_ids(tenant, page) -> list[str]:
    """The ticket ids of the page's QR images, decoded from their PNGs and verified with the tenant's key."""
    with database.db.connection_context():
        key = Org.get_by_id(tenant.orgid).signing_public_key
    sources = page.locator("img.qr").evaluate_all("images => images.map(i => i.src)")
    return [qr.verify_payload(key, decode_qr(base64.b64decode(src.split(",", 1)[1]))).ticket_id for src in sources]


def scans(tenant, page) -> bool:
    text = decode_qr(base64.b64decode(page.locator("img.qr").first.get_attribute("src").split(",", 1)[1]))
    return tenant.staff.post("/events/tickets/validate", json={"qrPayload": text}).get_json()["valid"]


def test_buyer_transfers_from_the_order_page_and_the_recipient_claims(club, page, browser, page_server, screenshots):
    body = {"eventId": club.event["id"], "email": "alex@example.com", "name": "Alex Reyes",
            "items": [{"ticketTypeId": free_type(club), "quantity": 2}]}
    assert club.guest.post("/client/events/tickets/purchase", json=body).status_code == 201
    page.goto(path_in(mail_to(club, "alex@example.com"), rf"/e/{club.orgid}/orders/"))
    assert page.get_by_role("heading", level=1).inner_text() == "Your order"
    assert len(verified_ticket_ids(club, page)) == 2
    screenshots(page, "order")

    with page.expect_download() as download:
        page.get_by_role("link", name="Download the PDF").first.click()
    pdf = PdfReader(download.value.path())
    assert "Concert de Jazz" in pdf.pages[0].extract_text()

    old_qr = decode_qr(base64.b64decode(page.locator("img.qr").first.get_attribute("src").split(",", 1)[1]))
    first = page.locator(".ticket-card").first
    first.get_by_text("Transfer this ticket").click()
    first.get_by_label("Their e-mail").fill("sam@example.com")
    first.get_by_label("Their name").fill("Sam Lee")
    screenshots(page, "transfer-form")
    first.get_by_role("button", name="Transfer").click()
    page.wait_for_url("**?transferred=*")
    assert "The ticket was transferred" in page.get_by_role("status").inner_text()
    assert len(verified_ticket_ids(club, page)) == 1
    assert club.staff.post("/events/tickets/validate", json={"qrPayload": old_qr}).get_json()["reason"] == "revoked"

    recipient = browser.new_context(base_url=page_server.url, locale="fr-FR").new_page()
    recipient.goto(path_in(mail_to(club, "sam@example.com"), rf"/e/{club.orgid}/claim\?token="))
    assert recipient.locator("html").get_attribute("lang") == "fr"
    assert recipient.get_by_role("heading", level=1).inner_text() == "Récupérer votre billet"
    screenshots(recipient, "claim")
    recipient.get_by_role("link", name="Se connecter pour le récupérer").click()
    recipient.get_by_label("Votre nom").fill("Sam Lee")
    recipient.locator("#register-email").fill("sam@example.com")
    recipient.get_by_label("Mot de passe (8 caractères ou plus)").fill("long-enough-9")
    screenshots(recipient, "sign-in")
    recipient.get_by_role("button", name="Créer mon compte").click()
    recipient.get_by_role("button", name="Récupérer ce billet").click()
    recipient.wait_for_url(f"**/e/{club.orgid}/tickets/**")
    assert "Le billet est à vous" in recipient.get_by_role("status").inner_text()
    assert scans(club, recipient)
    screenshots(recipient, "ticket")
    recipient.goto(f"/e/{club.orgid}/account")
    assert recipient.get_by_role("heading", name="Vos billets").is_visible()
    assert len(verified_ticket_ids(club, recipient)) == 1
    screenshots(recipient, "account")
    recipient.context.close()


def test_a_customer_signs_in_and_opens_an_order_from_the_account_page(club, page, screenshots):
    fan = club.customer(email="fan@example.com", password="correct-horse-9")
    bought = fan.post("/client/events/tickets/purchase",
                      json={"eventId": club.event["id"], "tickets": [{"ticketTypeId": free_type(club), "quantity": 1}]})
    assert bought.status_code == 201
    page.goto(f"/e/{club.orgid}/account")
    page.wait_for_url("**/account/login?next=*")
    page.locator("#login-email").fill("fan@example.com")
    page.locator("#login-password").fill("wrong-horse-9")
    page.get_by_role("button", name="Sign in").click()
    assert "E-mail or password is incorrect." in page.get_by_role("alert").inner_text()
    page.locator("#login-password").fill("correct-horse-9")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"**/e/{club.orgid}/account")
    assert page.get_by_role("heading", name="Your orders").is_visible()
    assert scans(club, page)
    screenshots(page, "account")
    page.get_by_role("link", name="Concert de Jazz").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Your order"
    page.get_by_role("link", name="Français").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Votre commande"
    screenshots(page, "order-fr")

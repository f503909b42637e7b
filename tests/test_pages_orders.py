"""The order, ticket, claim and account pages of the pages plugin over HTTP (no browser): the order page opened
from the link of the real confirmation e-mail (QR that verifies, PDF, holder), a transfer through its form (CSRF,
the API's rules, refusals in the visitor's language), the recipient's claim page from their e-mail, sign-in and
account pages, the API's `claimUrl`, and other tenants' or forged links as 404s."""

from __future__ import annotations

import base64
import re

import pytest
from pages_world import concert, pages_tenant
from test_notifications import decode_qr, smtp  # noqa: F401 - `smtp`: the loopback SMTP server fixture

from core import db as database
from core.models import Org
from core.services import qr

PURCHASE = "/client/events/tickets/purchase"


@pytest.fixture
def club(app, request):
    """A tenant with pages and e-mails (through the loopback SMTP server `club.smtp`), and its concert."""
    tenant = pages_tenant(app, plugins=("pages", "offline", "notifications"))
    tenant.smtp = request.getfixturevalue("smtp")
    tenant.configure("notifications", smtp_host="127.0.0.1", smtp_port=str(tenant.smtp.port))
    tenant.event = concert(tenant)
    tenant.browser = app.test_client()
    return tenant


def type_id(tenant, name: str) -> str:
    types = tenant.staff.get(f"/events/{tenant.event['id']}/ticket-types").get_json()["data"]
    return next(t["id"] for t in types if t["name"] == name)


def buy(tenant, name: str = "Free entry", quantity: int = 1, email: str = "alex@example.com") -> dict:
    """An API purchase by a guest (confirmed at once for a free type)."""
    body = {"eventId": tenant.event["id"], "email": email, "name": "Alex Reyes",
            "items": [{"ticketTypeId": type_id(tenant, name), "quantity": quantity}]}
    response = tenant.guest.post(PURCHASE, json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def text_part(message) -> str:
    return next(p for p in message.walk() if p.get_content_type() == "text/plain").get_content()


def link_in(message, pattern: str) -> str:
    """The first link of the e-mail's text part matching `pattern`, as a path."""
    found = re.search(r"https?://[^/\s]+(" + pattern + r"[^\s]*)", text_part(message))
    assert found, text_part(message)
    return found.group(1)


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def visible(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))).strip()


def qr_texts(html: str) -> list[str]:
    """The texts of the page's inline QR images, decoded back from their PNGs."""
    return [decode_qr(base64.b64decode(png)) for png in re.findall(r'src="data:image/png;base64,([^"]+)"', html)]


def test_the_order_page_from_the_confirmation_email_shows_each_ticket(club):
    buy(club, quantity=2)
    [mail] = [m for m in club.smtp.messages if m["To"] == "alex@example.com"]
    order_path = link_in(mail, rf"/e/{club.orgid}/orders/")
    page = club.browser.get(order_path)
    assert page.status_code == 200 and page.mimetype == "text/html"
    shown = visible(page)
    assert "Your order" in shown and shown.count("Free entry") == 2 and "Alex Reyes" in shown
    tickets = club.staff.get(f"/events/{club.event['id']}/tickets").get_json()["data"]
    with database.db.connection_context():
        org = Org.get_by_id(club.orgid)
        decoded = [qr.verify_payload(org.signing_public_key, text).ticket_id for text in qr_texts(page.get_data(
            as_text=True))]
    assert sorted(decoded) == sorted(t["id"] for t in tickets)
    pdf = re.search(r'href="https?://[^/"]+(/tickets/pdf/[^"]+)"', page.get_data(as_text=True)).group(1)
    download = club.browser.get(pdf)
    assert download.status_code == 200 and download.data.startswith(b"%PDF")
    assert "Add to Apple Wallet" not in shown                     # no wallet certificate configured
    assert page.headers["Cache-Control"] == "no-store"


def test_a_transfer_from_the_order_page_and_the_claim_page_of_the_recipient(club):
    booking = buy(club)
    [mail] = [m for m in club.smtp.messages if m["To"] == "alex@example.com"]
    order_path = link_in(mail, rf"/e/{club.orgid}/orders/")
    ticket = booking["tickets"][0]
    html = club.browser.get(order_path).get_data(as_text=True)
    [old_qr] = qr_texts(html)

    forged = club.browser.post(order_path, data={"ticket_id": ticket["id"], "to_email": "sam@example.com",
                                                 "csrf": "x" * 43})
    assert forged.status_code == 403 and "This form expired" in visible(forged)
    bad = club.browser.post(order_path, data={"ticket_id": ticket["id"], "to_email": "not-an-address",
                                              "csrf": csrf_of(html)})
    assert bad.status_code == 422 and "Some fields need your attention." in visible(bad)
    assert 'aria-invalid="true"' in bad.get_data(as_text=True)

    moved = club.browser.post(order_path, data={"ticket_id": ticket["id"], "to_email": "sam@example.com",
                                                "to_name": "Sam Lee", "csrf": csrf_of(html)})
    assert moved.status_code == 303 and moved.headers["Location"].endswith(f"?transferred={ticket['id']}")
    after = club.browser.get(moved.headers["Location"])
    assert "The ticket was transferred" in visible(after) and qr_texts(after.get_data(as_text=True)) == []
    check = club.staff.post("/events/tickets/validate", json={"qrPayload": old_qr}).get_json()
    assert check["valid"] is False and check["reason"] == "revoked"

    again = club.browser.post(order_path + "?lang=fr", data={"ticket_id": ticket["id"], "to_email": "x@example.com",
                                                             "csrf": csrf_of(html)})
    assert again.status_code == 409 and "Ce billet ne peut pas être transféré" in visible(again)

    [claim_mail] = [m for m in club.smtp.messages if m["To"] == "sam@example.com"]
    claim_path = link_in(claim_mail, rf"/e/{club.orgid}/claim\?token=")
    stranger = club.app.test_client()
    offer = stranger.get(claim_path)
    assert offer.status_code == 200 and "Free entry" in visible(offer) and "Sign in to claim" in visible(offer)
    login_path = re.search(r'href="([^"]+/account/login\?next=[^"]+)"', offer.get_data(as_text=True)).group(1)
    login = stranger.get(login_path.replace("&amp;", "&"))
    registered = stranger.post(f"/e/{club.orgid}/account/login", data={
        "action": "register", "name": "Sam Lee", "email": "sam@example.com", "password": "long-enough-9",
        "next": re.search(r'name="next" value="([^"]+)"', login.get_data(as_text=True)).group(1).replace("&amp;", "&"),
        "csrf": csrf_of(login.get_data(as_text=True))})
    assert registered.status_code == 303, visible(registered)
    cookie = registered.headers.getlist("Set-Cookie")
    assert any(c.startswith("pages_session=") and "HttpOnly" in c and "SameSite=Lax" in c for c in cookie)
    offer = stranger.get(registered.headers["Location"])
    assert "Claim this ticket" in visible(offer)
    claimed = stranger.post(f"/e/{club.orgid}/claim", data={"token": claim_path.split("token=")[1],
                                                            "csrf": csrf_of(offer.get_data(as_text=True))})
    assert claimed.status_code == 303 and f"/e/{club.orgid}/tickets/" in claimed.headers["Location"]
    mine = stranger.get(claimed.headers["Location"])
    assert "The ticket is yours now" in visible(mine)
    [new_qr] = qr_texts(mine.get_data(as_text=True))
    assert new_qr != old_qr
    assert club.staff.post("/events/tickets/validate", json={"qrPayload": new_qr}).get_json()["valid"] is True

    twice = stranger.post(f"/e/{club.orgid}/claim?lang=fr", data={"token": claim_path.split("token=")[1],
                                                                  "csrf": csrf_of(offer.get_data(as_text=True))})
    assert twice.status_code == 409 and "Ce billet a déjà été récupéré." in visible(twice)
    assert "Ce billet est dans votre compte." in visible(twice)

    account = stranger.get(f"/e/{club.orgid}/account")
    assert account.status_code == 200 and "Free entry" in visible(account) and "sam@example.com" in visible(account)


def test_refusals_are_shown_in_the_visitors_language_and_change_nothing(club):
    changed = club.staff.patch(f"/events/ticket-types/{type_id(club, 'Free entry')}", json={"transferable": False})
    assert changed.status_code == 200, changed.get_json()
    buy(club)
    [mail] = [m for m in club.smtp.messages if m["To"] == "alex@example.com"]
    order_path = link_in(mail, rf"/e/{club.orgid}/orders/")
    page = club.browser.get(order_path + "?lang=fr")
    assert "Votre commande" in visible(page) and "Transférer ce billet" not in visible(page)
    ticket_id = re.search(r'id="ticket-([^"]+)"', page.get_data(as_text=True)).group(1)
    token = club.browser.get_cookie("pages_csrf", path="/e/").value   # no form shown: post as a hand-made one
    refused = club.browser.post(order_path, data={"ticket_id": ticket_id, "to_email": "sam@example.com",
                                                  "csrf": token})
    assert refused.status_code == 409 and "Ce billet ne peut pas être transféré" in visible(refused)
    assert club.staff.get(f"/events/tickets/{ticket_id}").get_json()["status"] == "valid"


def test_forged_foreign_and_missing_links_are_404_pages(club, app):
    buy(club)
    [mail] = [m for m in club.smtp.messages if m["To"] == "alex@example.com"]
    order_path = link_in(mail, rf"/e/{club.orgid}/orders/")
    other = pages_tenant(app, "Other Club")
    token = order_path.rsplit("/", 1)[1]
    assert club.browser.get(f"/e/{other.orgid}/orders/{token}").status_code == 404
    assert club.browser.get(order_path[:-2] + "xx").status_code == 404
    assert club.browser.get(f"/e/{club.orgid}/tickets/{token}").status_code == 404   # an order token is no ticket's
    missing = club.browser.get(f"/e/{club.orgid}/claim?token=nope-nope-nope")
    assert missing.status_code == 404 and "This claim link is not valid." in visible(missing)
    assert club.browser.get(f"/e/{club.orgid}/account").status_code == 303


def test_the_account_page_after_signing_in_and_the_apis_claim_url(club):
    fan = club.customer(email="fan@example.com", password="correct-horse-9")
    bought = fan.post(PURCHASE, json={"eventId": club.event["id"],
                                      "tickets": [{"ticketTypeId": type_id(club, "Free entry"), "quantity": 1}]})
    assert bought.status_code == 201, bought.get_json()
    login = club.browser.get(f"/e/{club.orgid}/account/login")
    wrong = club.browser.post(f"/e/{club.orgid}/account/login?lang=fr", data={
        "email": "fan@example.com", "password": "wrong-horse-9", "csrf": csrf_of(login.get_data(as_text=True))})
    assert wrong.status_code == 401 and "E-mail ou mot de passe incorrect." in visible(wrong)
    signed = club.browser.post(f"/e/{club.orgid}/account/login", data={
        "email": "fan@example.com", "password": "correct-horse-9", "csrf": csrf_of(login.get_data(as_text=True))})
    assert signed.status_code == 303 and signed.headers["Location"] == f"/e/{club.orgid}/account"
    account = club.browser.get(f"/e/{club.orgid}/account?lang=en")
    shown = visible(account)
    assert "Your orders" in shown and "Concert de Jazz" in shown and "1 ticket" in shown
    assert len(qr_texts(account.get_data(as_text=True))) == 1
    order = re.search(rf'href="(/e/{club.orgid}/orders/[^"]+)"', account.get_data(as_text=True)).group(1)
    assert club.browser.get(order).status_code == 200
    out = club.browser.post(f"/e/{club.orgid}/account/logout", data={"csrf": csrf_of(account.get_data(as_text=True))})
    assert out.status_code == 303
    assert club.browser.get(f"/e/{club.orgid}/account").status_code == 303

    ticket = fan.get("/client/events/tickets/mine").get_json()["tickets"][0]
    staff = club.staff.post(f"/events/tickets/{ticket['id']}/transfer", json={"toEmail": "kim@example.com"})
    assert staff.status_code == 201, staff.get_json()
    claim_url = staff.get_json()["claimUrl"]
    assert claim_url.endswith(f"/e/{club.orgid}/claim?token={staff.get_json()['claimToken']}")
    path = claim_url.split("://", 1)[1].split("/", 1)[1]
    assert club.app.test_client().get("/" + path).status_code == 200


def test_wrong_passwords_on_the_sign_in_page_count_with_the_apis(club, config, monkeypatch):
    monkeypatch.setattr(config, "throttle_per_account", "3/minute")
    fan = club.customer(password="correct-horse-9")
    where = {"environ_base": {"REMOTE_ADDR": "10.9.8.7"}}
    for _ in range(2):
        assert club.guest.post("/client/auth/login", json={"email": fan.email, "password": "guess-guess"},
                               **where).status_code == 401
    login = club.browser.get(f"/e/{club.orgid}/account/login")
    form = {"email": fan.email, "password": "guess-guess", "csrf": csrf_of(login.get_data(as_text=True))}
    assert club.browser.post(f"/e/{club.orgid}/account/login", data=form).status_code == 401
    refused = club.browser.post(f"/e/{club.orgid}/account/login", data={**form, "password": "correct-horse-9"})
    assert refused.status_code == 429 and "Too many attempts" in visible(refused)
    assert "pages_session" not in str(refused.headers.getlist("Set-Cookie"))
    api = club.guest.post("/client/auth/login", json={"email": fan.email, "password": "correct-horse-9"}, **where)
    assert api.status_code == 429


def test_a_tenant_with_a_wallet_certificate_offers_the_pass_on_the_order_page(club):
    from wallet_certs import configure_wallet, make_pass_certificate

    configure_wallet(club, make_pass_certificate())
    buy(club)
    [mail] = [m for m in club.smtp.messages if m["To"] == "alex@example.com"]
    page = club.browser.get(link_in(mail, rf"/e/{club.orgid}/orders/"))
    wallet = re.search(r'href="https?://[^/"]+(/tickets/wallet/[^"]+)"[^>]*>Add to Apple Wallet', page.get_data(
        as_text=True)).group(1)
    download = club.browser.get(wallet)
    assert download.status_code == 200 and download.mimetype == "application/vnd.apple.pkpass"


def test_the_confirmation_email_and_the_checkouts_booking_page_link_the_order_page(club):
    buy(club)
    [mail] = [m for m in club.smtp.messages if m["To"] == "alex@example.com"]
    order_path = link_in(mail, rf"/e/{club.orgid}/orders/")
    booking_page = club.browser.get(link_in(mail, rf"/e/{club.orgid}/{club.event['slug']}/checkout/"))
    assert "Thank you! Your order is confirmed." in visible(booking_page)
    linked = re.search(r'href="([^"]+)">See your tickets<', booking_page.get_data(as_text=True)).group(1)
    assert linked.startswith(f"/e/{club.orgid}/orders/")           # signed again (a newer timestamp): same order
    ids = [re.findall(r'id="ticket-([^"]+)"', club.browser.get(p).get_data(as_text=True)) for p in (linked, order_path)]
    assert ids[0] == ids[1] and len(ids[0]) == 1
    html = next(p for p in mail.walk() if p.get_content_type() == "text/html").get_content()
    assert f'/e/{club.orgid}/orders/' in html and "Your tickets online" in html

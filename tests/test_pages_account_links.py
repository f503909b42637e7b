"""The pages the customer account e-mails link to, opened from the REAL e-mails of the loopback SMTP server: a
password reset chosen on its page (signed in afterwards; the link then refused), the e-mail verification and
the change of e-mail confirmed by a button (a GET uses nothing up), the account page's reminder and resend
button, refusals in French."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from pages_world import pages_tenant
from test_account_links import CHANGE, RESET
from test_pages_orders import club, csrf_of, link_in, smtp, visible  # noqa: F401 - fixtures `club`, `smtp`

PASSWORD = "correct-horse-9"


@pytest.fixture
def shop(request):
    """The pages tenant sending real e-mails (`test_pages_orders.club`)."""
    return request.getfixturevalue("club")


def mail_link(shop, kind: str, to: str, page: str) -> str:
    """The path of the last `kind` e-mail's link to `/account/<page>` sent to `to`."""
    mails = shop.smtp.account_messages(kind, to)
    assert mails, f"no {kind} e-mail to {to}"
    return link_in(mails[-1], rf"/e/{shop.orgid}/account/{page}\?token=")


def post_form(browser, path: str, **fields):
    """Open the page at `path` and post its form (with its CSRF token and link token)."""
    page = browser.get(path)
    assert page.status_code == 200, visible(page)
    token = parse_qs(urlsplit(path).query)["token"][0]
    return browser.post(path.split("?")[0], data={"csrf": csrf_of(page.get_data(as_text=True)), "token": token,
                                                  **fields})


def test_the_reset_link_chooses_a_new_password_once_and_signs_in(shop):
    fan = shop.customer(email="ana@example.com", password=PASSWORD)
    assert shop.guest.post(RESET, json={"email": fan.email}).status_code == 202
    path = mail_link(shop, "password_reset", fan.email, "reset")
    browser = shop.app.test_client()

    page = browser.get(path + "&lang=fr")
    assert "Choisissez un nouveau mot de passe" in visible(page)
    differ = post_form(browser, path, password="battery-staple-7", password_again="battery-staple-8")
    assert differ.status_code == 422 and "Les deux mots de passe sont différents." in visible(differ)
    weak = post_form(browser, path, password="short", password_again="short")
    assert weak.status_code == 422 and "Certains champs sont à vérifier." in visible(weak)
    assert shop.guest.post("/client/auth/login", json={"email": fan.email, "password": PASSWORD}).status_code == 200

    done = post_form(browser, path, password="battery-staple-7", password_again="battery-staple-7")
    assert done.status_code == 303 and done.headers["Location"] == f"/e/{shop.orgid}/account"
    account = browser.get(done.headers["Location"] + "?lang=en")
    assert account.status_code == 200 and "Signed in as ana@example.com." in visible(account)
    assert shop.guest.post("/client/auth/login", json={"email": fan.email, "password": PASSWORD}).status_code == 401
    assert shop.guest.post("/client/auth/login",
                           json={"email": fan.email, "password": "battery-staple-7"}).status_code == 200

    again = post_form(shop.app.test_client(), path + "&lang=fr", password="other-pass-77",
                      password_again="other-pass-77")
    assert again.status_code == 409 and "Ce lien a déjà été utilisé." in visible(again), visible(again)


def test_the_verification_link_needs_the_button_and_works_once(shop):
    fan = shop.customer(email="bo@example.com", password=PASSWORD)
    path = mail_link(shop, "email_verification", fan.email, "verify")
    browser = shop.app.test_client()
    for _ in range(2):  # a link scanner's GETs use nothing up
        assert "Verify my e-mail address" in visible(browser.get(path))
    assert fan.get("/auth/me").get_json().get("emailVerified") in (False, None)
    done = post_form(browser, path)
    assert done.status_code == 200 and "Thank you: bo@example.com is verified." in visible(done)
    again = post_form(browser, path + "&lang=fr")
    assert again.status_code == 409 and "Ce lien a déjà été utilisé." in visible(again), visible(again)
    forged = post_form(browser, f"/e/{shop.orgid}/account/verify?token=forged-token")
    assert forged.status_code == 404 and "Ce lien n’est pas valide" in visible(forged)


def test_the_account_page_reminds_an_unverified_customer_and_resends(shop):
    fan = shop.customer(email="cy@example.com", password=PASSWORD)
    browser = shop.app.test_client()
    login = browser.get(f"/e/{shop.orgid}/account/login")
    browser.post(f"/e/{shop.orgid}/account/login", data={"email": fan.email, "password": PASSWORD,
                                                         "csrf": csrf_of(login.get_data(as_text=True))})
    account = browser.get(f"/e/{shop.orgid}/account")
    assert "Please verify your e-mail address cy@example.com" in visible(account)
    first = mail_link(shop, "email_verification", fan.email, "verify")
    sent = browser.post(f"/e/{shop.orgid}/account/resend", data={"csrf": csrf_of(account.get_data(as_text=True))})
    assert sent.status_code == 303
    assert "We sent a new link to cy@example.com." in visible(browser.get(sent.headers["Location"]))
    newer = mail_link(shop, "email_verification", fan.email, "verify")
    assert newer != first
    assert post_form(browser, first).status_code == 404  # the older link stops working
    assert post_form(browser, newer).status_code == 200
    shown = visible(browser.get(f"/e/{shop.orgid}/account"))
    assert "Please verify" not in shown and "Send the link again" not in shown


def test_the_change_of_email_link_moves_the_account_once(shop):
    fan = shop.customer(email="di@example.com", password=PASSWORD)
    asked = fan.post(CHANGE, json={"newEmail": "di.new@example.com", "currentPassword": PASSWORD})
    assert asked.status_code == 202, asked.get_json()
    path = mail_link(shop, "email_change", "di.new@example.com", "email")
    browser = shop.app.test_client()
    assert "Use my new e-mail address" in visible(browser.get(path))
    assert shop.guest.post("/client/auth/login", json={"email": fan.email, "password": PASSWORD}).status_code == 200
    done = post_form(browser, path + "&lang=fr")
    assert done.status_code == 200 and "Votre compte utilise désormais di.new@example.com." in visible(done)
    assert shop.guest.post("/client/auth/login",
                           json={"email": "di.new@example.com", "password": PASSWORD}).status_code == 200
    assert post_form(browser, path).status_code == 409


@pytest.mark.parametrize("page", ["reset", "verify", "email"])
def test_a_post_without_the_forms_csrf_token_changes_nothing(shop, page):
    fan = shop.customer(email=f"{page}@example.com", password=PASSWORD)
    path = mail_link(shop, "email_verification", fan.email, "verify").replace("/verify?", f"/{page}?")
    refused = shop.app.test_client().post(path.split("?")[0], data={"token": path.split("token=")[1],
                                                                    "password": "x" * 10, "password_again": "x" * 10})
    assert refused.status_code == 403 and "This form expired" in visible(refused)


def invite_link(tenant, mailbox, email: str, role: str) -> str:
    """Invite `email` (the e-mail goes through the loopback SMTP server) and return its link's path."""
    answer = tenant.staff.post("/org/members/invites", json={"email": email, "role": role})
    assert answer.status_code == 201 and answer.get_json()["emailed"] is True, answer.get_json()
    *_, mail = [m for m in mailbox.messages if m["X-Boxoffice-Kind"] == "member_invite" and m["To"] == email]
    return link_in(mail, rf"/e/{tenant.orgid}/staff/accept-invite\?token=")


def staff_login(tenant, email: str, password: str):
    return tenant.guest.post("/auth/login", json={"email": email, "password": password})


def test_the_staff_invite_link_makes_a_member_once_and_a_member_elsewhere_gives_their_password(shop, app):
    email = f"sam-{shop.orgid}@staff.example"
    path = invite_link(shop, shop.smtp, email, "door")
    browser = app.test_client()
    page = browser.get(path + "&lang=fr")
    assert "Rejoindre l’équipe de Jazz Club" in visible(page) and f"{email} est invité(e)" in visible(page)
    differ = post_form(browser, path, new="1", name="Sam", password="battery-staple-7",
                       password_again="battery-staple-8")
    assert differ.status_code == 422 and staff_login(shop, email, "battery-staple-7").status_code == 401
    done = post_form(browser, path + "&lang=en", new="1", name="Sam", password="battery-staple-7",
                     password_again="battery-staple-7")
    assert done.status_code == 200 and "you are now on the staff of Jazz Club" in visible(done)
    assert "POST /auth/login" in visible(done)
    assert f'href="/e/{shop.orgid}/manage/sign-in"' in done.get_data(as_text=True)   # the organiser's dashboard
    assert staff_login(shop, email, "battery-staple-7").get_json()["role"] == "door"
    again = browser.post(path.split("?")[0], data={"csrf": csrf_of(page.get_data(as_text=True)),
                                                   "token": parse_qs(urlsplit(path).query)["token"][0],
                                                   "new": "1", "password": "other-pass-77",
                                                   "password_again": "other-pass-77"})
    assert again.status_code == 409 and "This invitation was already used" in visible(again)

    other = pages_tenant(app, "Blues Bar", plugins=("pages", "notifications"))
    other.configure("notifications", smtp_host="127.0.0.1", smtp_port=str(shop.smtp.port))
    elsewhere = invite_link(other, shop.smtp, email, "box_office")
    form = browser.get(elsewhere)
    assert "confirm with your password" in visible(form) and 'name="password_again"' not in form.get_data(as_text=True)
    wrong = post_form(browser, elsewhere, password="wrong-password-1")
    assert wrong.status_code == 401 and "E-mail or password is incorrect." in visible(wrong)
    joined = post_form(browser, elsewhere, password="battery-staple-7")
    assert joined.status_code == 200 and "you are now on the staff of Blues Bar" in visible(joined)
    assert staff_login(other, email, "battery-staple-7").get_json()["role"] == "box_office"
    forged = browser.get(f"/e/{shop.orgid}/staff/accept-invite?token=made-up")
    assert forged.status_code == 404 and "This invitation link is not valid." in visible(forged)

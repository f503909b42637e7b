"""Customer account links end to end, through the real loopback SMTP server: a password reset used once, refused
when expired, replaced by a newer one and never telling whether an e-mail has an account; e-mail verification and
the tenant that sells to verified accounts only; a change of e-mail confirmed only by the new address; and the
sessions each of them ends."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from smtp_server import SmtpServer
from test_purchase_support import make_event, make_type

from core import db as database

RESET, RESET_CONFIRM = "/client/auth/password-reset", "/client/auth/password-reset/confirm"
VERIFY, RESEND = "/client/auth/verify-email", "/client/auth/verify-email/resend"
CHANGE, CHANGE_CONFIRM = "/client/auth/email", "/client/auth/email/confirm"
PURCHASE = "/client/events/tickets/purchase"
PASSWORD = "correct-horse-9"


@pytest.fixture
def smtp():
    server = SmtpServer().start()
    yield server
    server.stop()


def send_mail_through(tenant, smtp) -> None:
    tenant.enable("notifications")
    tenant.configure("notifications", smtp_host="127.0.0.1", smtp_port=str(smtp.port),
                     sender="Tenant Tickets <tickets@tenant.test>")


@pytest.fixture
def mailer(tenant, smtp):
    """A tenant with notifications enabled, sending through the loopback SMTP server."""
    send_mail_through(tenant, smtp)
    return tenant


def link_in(mail, page: str) -> str:
    """The link to the account page `page` in an e-mail's text and HTML parts (the same in both)."""
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    [link] = re.findall(rf"https?://\S+/account/{page}\?token=[\w-]+", text)
    assert link in html
    return link


def token_of(link: str) -> str:
    return link.rsplit("token=", 1)[1]


def last_token(smtp, kind: str, to: str, page: str) -> str:
    mails = smtp.account_messages(kind, to)
    assert mails, f"no {kind} e-mail to {to}"
    return token_of(link_in(mails[-1], page))


def login(tenant, email, password):
    return tenant.guest.post("/client/auth/login", json={"email": email, "password": password})


def assert_revoked(client) -> None:
    response = client.get("/auth/me")
    assert response.status_code == 401 and response.get_json()["type"] == "session_revoked", response.get_json()


def assert_error(response, status: int, type_: str) -> None:
    body = response.get_json()
    assert response.status_code == status and body["type"] == type_, body


def expire_links(customer_id: str) -> None:
    from core.models import AccountLink

    with database.db.connection_context():
        AccountLink.update(expires_at=dt.datetime(2020, 1, 1)).where(AccountLink.customer == customer_id).execute()


def reset_jobs(orgid: str) -> int:
    from core.models import OutboxEntry

    with database.db.connection_context():
        return OutboxEntry.select().where((OutboxEntry.org_id == orgid) & (OutboxEntry.kind == "job") & (
            OutboxEntry.name == "core.services.password_reset.send_reset_link")).count()


# --- password reset ---------------------------------------------------------------------------------------

def test_a_reset_link_works_once_ends_every_session_and_logs_in(mailer, smtp, config):
    fan = mailer.customer(password=PASSWORD, name="Ana Fan")
    laptop = fan.as_token(login(mailer, fan.email, PASSWORD).get_json()["token"])
    asked = mailer.guest.post(RESET, json={"email": fan.email.upper()})
    assert asked.status_code == 202, asked.get_json()
    [mail] = smtp.account_messages("password_reset")
    assert mail["To"] == fan.email and mail["From"] == "Tenant Tickets <tickets@tenant.test>"
    link = link_in(mail, "reset")
    assert link.startswith(f"{config.public_url.rstrip('/')}/e/{mailer.orgid}/account/reset?token=")
    assert "Hello Ana Fan" in mail.get_body(("plain",)).get_content()
    assert laptop.get("/auth/me").status_code == 200  # asking for a link changes nothing yet

    reset = mailer.guest.post(RESET_CONFIRM, json={"token": token_of(link), "newPassword": "battery-staple-7"})
    assert reset.status_code == 200, reset.get_json()
    assert reset.get_json()["customer"]["emailVerified"] is True  # the link reached the address
    assert_revoked(fan)
    assert_revoked(laptop)
    assert fan.as_token(reset.get_json()["token"]).get("/auth/me").status_code == 200
    assert login(mailer, fan.email, PASSWORD).status_code == 401
    assert login(mailer, fan.email, "battery-staple-7").status_code == 200

    again = mailer.guest.post(RESET_CONFIRM, json={"token": token_of(link), "newPassword": "another-pass-8"})
    assert_error(again, 409, "link_used")
    assert login(mailer, fan.email, "battery-staple-7").status_code == 200


def test_the_answer_and_the_work_are_the_same_whether_or_not_the_email_has_an_account(mailer, smtp):
    fan = mailer.customer()
    jobs = reset_jobs(mailer.orgid)
    known = mailer.guest.post(RESET, json={"email": fan.email})
    unknown = mailer.guest.post(RESET, json={"email": "nobody-here@example.com"})
    assert (known.status_code, known.get_json()) == (unknown.status_code, unknown.get_json())
    assert known.status_code == 202 and "If an account uses this e-mail" in known.get_json()["message"]
    assert sorted(known.headers.keys()) == sorted(unknown.headers.keys())
    assert reset_jobs(mailer.orgid) == jobs + 2  # each request recorded the one job that looks the e-mail up
    assert [m["To"] for m in smtp.account_messages("password_reset")] == [fan.email]


def test_without_an_email_plugin_the_answer_is_the_same_and_nothing_is_sent(tenant, smtp):
    fan = tenant.customer()
    answer = tenant.guest.post(RESET, json={"email": fan.email})
    assert answer.status_code == 202 and answer.get_json() == tenant.guest.post(
        RESET, json={"email": "nobody@example.com"}).get_json()
    from core.models import AccountLink

    with database.db.connection_context():
        assert not AccountLink.select().where(AccountLink.customer == fan.customer_id).exists()
    assert smtp.messages == []


def test_an_expired_reset_link_is_refused_and_changes_nothing(mailer, smtp):
    fan = mailer.customer(password=PASSWORD)
    assert mailer.guest.post(RESET, json={"email": fan.email}).status_code == 202
    token = last_token(smtp, "password_reset", fan.email, "reset")
    expire_links(fan.customer_id)
    late = mailer.guest.post(RESET_CONFIRM, json={"token": token, "newPassword": "battery-staple-7"})
    assert_error(late, 410, "link_expired")
    assert late.get_json()["expiredAt"] == "2020-01-01T00:00:00Z"
    assert login(mailer, fan.email, PASSWORD).status_code == 200
    assert fan.get("/auth/me").status_code == 200


def test_a_newer_reset_replaces_the_older_link_and_a_password_change_ends_it(mailer, smtp):
    fan = mailer.customer(password=PASSWORD)
    for _ in range(2):
        assert mailer.guest.post(RESET, json={"email": fan.email}).status_code == 202
    first, second = (token_of(link_in(m, "reset")) for m in smtp.account_messages("password_reset", fan.email))
    assert_error(mailer.guest.post(RESET_CONFIRM, json={"token": first, "newPassword": "battery-staple-7"}),
                 404, "invalid_link")
    changed = fan.post("/client/auth/password", json={"currentPassword": PASSWORD, "newPassword": "changed-pass-1"})
    assert changed.status_code == 200, changed.get_json()
    assert_error(mailer.guest.post(RESET_CONFIRM, json={"token": second, "newPassword": "battery-staple-7"}),
                 404, "invalid_link")
    assert login(mailer, fan.email, "changed-pass-1").status_code == 200


def test_bad_input_and_other_purposes_and_tenants_links_are_refused(mailer, smtp, app):
    from conftest import make_tenant

    fan = mailer.customer(password=PASSWORD)
    verify_token = last_token(smtp, "email_verification", fan.email, "verify")
    for body in ({}, {"email": "not-an-email"}, {"email": "a@b.c", "extra": 1}):
        assert_error(mailer.guest.post(RESET, json=body), 422, "validation_error")
    for body in ({"token": "x" * 43}, {"token": "x" * 43, "newPassword": "short"}, {"newPassword": "long-enough-1"}):
        assert_error(mailer.guest.post(RESET_CONFIRM, json=body), 422, "validation_error")
    # A made-up token, and a live token of another purpose, open nothing.
    for token in ("made-up-token-" + "x" * 30, verify_token):
        assert_error(mailer.guest.post(RESET_CONFIRM, json={"token": token, "newPassword": "long-enough-1"}),
                     404, "invalid_link")
    # Another tenant's live reset link is unknown here.
    other = make_tenant(app, "Tenant B")
    send_mail_through(other, smtp)
    theirs = other.customer(password=PASSWORD)
    assert other.guest.post(RESET, json={"email": theirs.email}).status_code == 202
    their_token = last_token(smtp, "password_reset", theirs.email, "reset")
    assert_error(mailer.guest.post(RESET_CONFIRM, json={"token": their_token, "newPassword": "long-enough-1"}),
                 404, "invalid_link")
    assert login(other, theirs.email, PASSWORD).status_code == 200
    assert mailer.guest.post(VERIFY, json={"token": verify_token}).status_code == 200  # still unused


# --- e-mail verification ----------------------------------------------------------------------------------

def test_registration_sends_a_verification_link_that_works_once(mailer, smtp):
    registered = mailer.guest.post("/client/auth/register", json={"email": "Vera@Example.com",
                                                                  "password": PASSWORD, "name": "Vera"})
    assert registered.status_code == 201, registered.get_json()
    account = registered.get_json()["customer"]
    assert account["emailVerified"] is False and "verify your e-mail" in account["reminder"]
    fan = mailer.guest.as_token(registered.get_json()["token"])
    profile = fan.get("/client/auth/profile").get_json()
    assert profile["emailVerified"] is False and profile["reminder"] == account["reminder"]

    [mail] = smtp.account_messages("email_verification")
    assert mail["To"] == "vera@example.com"
    link = link_in(mail, "verify")
    assert f"/e/{mailer.orgid}/account/verify?token=" in link
    verified = mailer.guest.post(VERIFY, json={"token": token_of(link)})  # no login needed
    assert verified.status_code == 200, verified.get_json()
    assert verified.get_json() == {"email": "vera@example.com", "emailVerified": True}
    profile = fan.get("/client/auth/profile").get_json()
    assert profile["emailVerified"] is True and profile["reminder"] is None
    assert_error(mailer.guest.post(VERIFY, json={"token": token_of(link)}), 409, "link_used")
    assert_error(fan.post(RESEND), 409, "email_already_verified")
    assert fan.get("/auth/me").status_code == 200  # verifying ends no session


def test_resend_replaces_the_link_and_an_expired_one_is_refused(mailer, smtp):
    fan = mailer.customer()
    first = last_token(smtp, "email_verification", fan.email, "verify")
    resent = fan.post(RESEND)
    assert resent.status_code == 202, resent.get_json()
    assert resent.get_json()["email"] == fan.email and resent.get_json()["expiresAt"].endswith("Z")
    second = last_token(smtp, "email_verification", fan.email, "verify")
    assert first != second
    assert_error(mailer.guest.post(VERIFY, json={"token": first}), 404, "invalid_link")
    expire_links(fan.customer_id)
    assert_error(mailer.guest.post(VERIFY, json={"token": second}), 410, "link_expired")
    assert fan.get("/client/auth/profile").get_json()["emailVerified"] is False
    assert_error(mailer.guest.post(RESEND), 401, "authentication_required")
    assert_error(mailer.staff.post(RESEND), 403, "forbidden_role")


def test_without_an_email_plugin_accounts_stay_unverified_and_cannot_ask_for_links(tenant):
    fan = tenant.customer()
    assert fan.get("/client/auth/profile").get_json()["emailVerified"] is False
    assert_error(fan.post(RESEND), 422, "email_unavailable")
    assert_error(fan.post(CHANGE, json={"newEmail": "new@example.com", "currentPassword": PASSWORD}),
                 422, "email_unavailable")
    refused = tenant.staff.patch("/org/settings", json={"requireEmailVerification": True})
    assert_error(refused, 422, "email_unavailable")
    assert tenant.staff.get("/org/settings").get_json()["requireEmailVerification"] is False


def test_a_tenant_requiring_verification_refuses_purchase_until_verified(mailer, smtp):
    event = make_event(mailer)
    free = make_type(mailer, event, name="Free pass", capacity=5)
    order = {"eventId": event, "items": [{"ticketTypeId": free, "quantity": 1}]}
    fan = mailer.customer()
    bought = fan.post(PURCHASE, json=order)  # the tenant does not require it yet: a reminder only
    assert bought.status_code == 201 and "verify your e-mail" in bought.get_json()["reminder"]

    assert_error(mailer.customer().patch("/org/settings", json={"requireEmailVerification": True}),
                 403, "forbidden_role")
    turned_on = mailer.staff.patch("/org/settings", json={"requireEmailVerification": True})
    assert turned_on.status_code == 200 and turned_on.get_json()["requireEmailVerification"] is True
    refused = fan.post(PURCHASE, json=order)
    assert_error(refused, 403, "email_unverified")
    assert mailer.staff.get(f"/events/{event}/ticket-types").status_code == 200
    seats = {t["id"]: t for t in mailer.staff.get(f"/events/{event}/ticket-types").get_json()["data"]}[free]
    assert seats["sold"] == 1  # only the first purchase holds a seat
    registered = fan.post("/client/events/tickets/register", json=order)
    assert_error(registered, 403, "email_unverified")
    guest = mailer.guest.post(PURCHASE, json={**order, "email": "walk-in@example.com", "name": "Walk In"})
    assert guest.status_code == 201 and guest.get_json()["reminder"] is None  # guests have no account to verify

    assert mailer.guest.post(VERIFY, json={"token": last_token(smtp, "email_verification", fan.email,
                                                                "verify")}).status_code == 200
    after = fan.post(PURCHASE, json=order)
    assert after.status_code == 201, after.get_json()
    assert after.get_json()["reminder"] is None and after.get_json()["status"] == "confirmed"


# --- change of e-mail -------------------------------------------------------------------------------------

def test_an_email_change_happens_only_when_the_new_address_confirms_it(mailer, smtp):
    fan = mailer.customer(password=PASSWORD, name="Ana Fan")
    phone = fan.as_token(login(mailer, fan.email, PASSWORD).get_json()["token"])
    wrong = fan.post(CHANGE, json={"newEmail": "ana.new@example.com", "currentPassword": "not-my-password"})
    assert_error(wrong, 403, "wrong_password")
    assert_error(fan.post(CHANGE, json={"newEmail": fan.email.upper(), "currentPassword": PASSWORD}),
                 422, "same_email")
    asked = fan.post(CHANGE, json={"newEmail": "Ana.New@Example.com", "currentPassword": PASSWORD})
    assert asked.status_code == 202, asked.get_json()
    assert asked.get_json()["email"] == "ana.new@example.com"
    [mail] = smtp.account_messages("email_change")
    assert mail["To"] == "ana.new@example.com"  # only the NEW address gets the link
    assert not smtp.account_messages("email_change", fan.email)
    link = link_in(mail, "email")
    assert f"/e/{mailer.orgid}/account/email?token=" in link and fan.email in mail.get_body(("plain",)).get_content()
    # Nothing changed yet: the old e-mail still logs in, the sessions live.
    assert fan.get("/client/auth/profile").get_json()["email"] == fan.email
    assert login(mailer, fan.email, PASSWORD).status_code == 200 and phone.get("/auth/me").status_code == 200

    confirmed = mailer.guest.post(CHANGE_CONFIRM, json={"token": token_of(link)})
    assert confirmed.status_code == 200, confirmed.get_json()
    account = confirmed.get_json()["customer"]
    assert account["email"] == "ana.new@example.com" and account["emailVerified"] is True
    assert_revoked(fan)
    assert_revoked(phone)
    fresh = fan.as_token(confirmed.get_json()["token"])
    assert fresh.get("/auth/me").get_json()["email"] == "ana.new@example.com"
    assert login(mailer, fan.email, PASSWORD).status_code == 401
    assert login(mailer, "ana.new@example.com", PASSWORD).status_code == 200
    [notice] = smtp.account_messages("email_changed")
    assert notice["To"] == fan.email and "ana.new@example.com" in notice.get_body(("plain",)).get_content()
    assert "token=" not in notice.get_body(("plain",)).get_content()
    assert_error(mailer.guest.post(CHANGE_CONFIRM, json={"token": token_of(link)}), 409, "link_used")


def test_an_email_change_links_to_the_old_address_end_and_a_taken_address_is_409(mailer, smtp):
    fan = mailer.customer(password=PASSWORD)
    verify_old = last_token(smtp, "email_verification", fan.email, "verify")
    asked = fan.post(CHANGE, json={"newEmail": "taken-later@example.com", "currentPassword": PASSWORD})
    assert asked.status_code == 202, asked.get_json()
    token = last_token(smtp, "email_change", "taken-later@example.com", "email")
    other = mailer.customer(email="taken-later@example.com")
    assert_error(mailer.guest.post(CHANGE_CONFIRM, json={"token": token}), 409, "email_taken")
    assert fan.get("/client/auth/profile").get_json()["email"] == fan.email
    assert_error(fan.post(CHANGE, json={"newEmail": other.email, "currentPassword": PASSWORD}), 409, "email_taken")

    assert fan.post(CHANGE, json={"newEmail": "free@example.com", "currentPassword": PASSWORD}).status_code == 202
    assert mailer.guest.post(CHANGE_CONFIRM, json={
        "token": last_token(smtp, "email_change", "free@example.com", "email")}).status_code == 200
    # The verification link went to the old address: it no longer verifies anything.
    assert_error(mailer.guest.post(VERIFY, json={"token": verify_old}), 404, "invalid_link")


def test_email_change_needs_a_customer_and_a_valid_body(mailer):
    assert_error(mailer.guest.post(CHANGE, json={"newEmail": "x@example.com", "currentPassword": PASSWORD}),
                 401, "authentication_required")
    fan = mailer.customer()
    for body in ({"newEmail": "not-an-email", "currentPassword": PASSWORD}, {"newEmail": "x@example.com"}):
        assert_error(fan.post(CHANGE, json=body), 422, "validation_error")
    assert_error(mailer.guest.post(CHANGE_CONFIRM, json={"token": "made-up-token-" + "y" * 30}), 404, "invalid_link")


def test_racing_requests_use_a_reset_link_once(live_server, mailer, smtp):
    """Four requests with one reset link at once, over real HTTP: one sets its password, the others get 409."""
    import requests
    from test_races_tickets import storm

    fan = mailer.customer(password=PASSWORD)
    assert mailer.guest.post(RESET, json={"email": fan.email}).status_code == 202
    token = last_token(smtp, "password_reset", fan.email, "reset")
    passwords = [f"racing-pass-{n}" for n in range(4)]
    answers = storm([lambda p=p: requests.post(live_server.url + RESET_CONFIRM, json={"token": token, "newPassword": p},
                                               headers={"orgid": mailer.orgid}, timeout=60) for p in passwords])
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200, 409, 409, 409], [a.json() for a in answers]
    assert all(a.json()["type"] == "link_used" for a in answers if a.status_code == 409)
    winner = passwords[[a.status_code for a in answers].index(200)]
    assert [p for p in passwords if login(mailer, fan.email, p).status_code == 200] == [winner]


def test_no_table_keeps_a_link_token_in_clear_and_a_sent_link_is_not_resent(mailer, smtp):
    from core.models import AccountLink, OutboxEntry
    from plugins.notifications.models import Message

    fan = mailer.customer()
    assert mailer.guest.post(RESET, json={"email": fan.email}).status_code == 202
    tokens = [last_token(smtp, kind, fan.email, page)
              for kind, page in (("email_verification", "verify"), ("password_reset", "reset"))]
    with database.db.connection_context():
        stored = [str(row.__data__) for query in (AccountLink.select().where(AccountLink.org == mailer.orgid),
                                                  OutboxEntry.select().where(OutboxEntry.org_id == mailer.orgid),
                                                  Message.select().where(Message.org == mailer.orgid))
                  for row in query]
        sent = Message.select().where((Message.org == mailer.orgid) & (Message.kind == "password_reset")).get()
    assert stored and not [token for token in tokens if any(token in row for row in stored)]
    resent = mailer.staff.post(f"/notifications/messages/{sent.id}/resend")
    assert_error(resent, 409, "claim_link_not_kept")
    assert "asks for a new link" in resent.get_json()["message"]


def test_migration_25_adds_the_column_and_the_table_and_is_idempotent(mailer, smtp):
    from core.migrations import m0025_customer_email_links
    from core.models import AccountLink, Customer

    fan = mailer.customer()
    assert mailer.guest.post(VERIFY, json={"token": last_token(smtp, "email_verification", fan.email,
                                                                "verify")}).status_code == 200
    with database.db.connection_context():
        database.db.execute_sql('DROP TABLE "account_link"')
        database.db.execute_sql('ALTER TABLE "customer" DROP COLUMN "email_verified_at"')
        m0025_customer_email_links.upgrade()
        m0025_customer_email_links.upgrade()  # idempotent
        assert "email_verified_at" in {column.name for column in database.db.get_columns("customer")}
        assert Customer.get_by_id(fan.customer_id).email_verified_at is None  # accounts start unverified
        assert {"account_link_token_hash", "account_link_customer_id_purpose"} <= {
            index.name for index in database.db.get_indexes("account_link")}
        assert AccountLink.select().count() == 0
    assert fan.get("/client/auth/profile").get_json()["emailVerified"] is False
    assert fan.post(RESEND).status_code == 202
    assert mailer.guest.post(VERIFY, json={"token": last_token(smtp, "email_verification", fan.email,
                                                                "verify")}).status_code == 200

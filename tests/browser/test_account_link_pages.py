"""The password reset in a real Chromium: the customer opens the link of the real reset e-mail (the loopback
SMTP server's), types a new password twice, lands signed in on their account page, and the link then says it
was used. Screenshots at phone and desktop width."""

from __future__ import annotations

import re

from pages_world import pages_tenant
from test_notifications import smtp  # noqa: F401 - `smtp`: the loopback SMTP server fixture


def test_a_customer_chooses_a_new_password_from_the_reset_email(app, page, screenshots, smtp):  # noqa: F811
    tenant = pages_tenant(app, plugins=("pages", "notifications"))
    tenant.configure("notifications", smtp_host="127.0.0.1", smtp_port=str(smtp.port))
    fan = tenant.customer(email="reset-fan@example.com", password="correct-horse-9")
    assert tenant.guest.post("/client/auth/password-reset", json={"email": fan.email}).status_code == 202
    [mail] = smtp.account_messages("password_reset", fan.email)
    text = mail.get_body(("plain",)).get_content()
    path = re.search(rf"https?://[^/\s]+(/e/{tenant.orgid}/account/reset\?token=[\w-]+)", text).group(1)

    page.goto(path)
    assert page.get_by_role("heading", level=1).inner_text() == "Choose a new password"
    page.get_by_label("New password (8 characters or more)").fill("battery-staple-7")
    page.get_by_label("The same password again").fill("battery-staple-7")
    screenshots(page, "reset")
    page.get_by_role("button", name="Save my new password").click()
    page.wait_for_url(f"**/e/{tenant.orgid}/account")
    assert "Signed in as reset-fan@example.com." in page.locator("main").inner_text()
    screenshots(page, "account")

    page.goto(path)
    page.get_by_label("New password (8 characters or more)").fill("other-pass-77")
    page.get_by_label("The same password again").fill("other-pass-77")
    page.get_by_role("button", name="Save my new password").click()
    assert "This link has already been used." in page.locator("main").inner_text()
    assert page.get_by_role("button", name="Save my new password").count() == 0  # a used link offers no form
    screenshots(page, "used")
    assert tenant.guest.post("/client/auth/login",
                             json={"email": fan.email, "password": "battery-staple-7"}).status_code == 200

"""The waiting-list page over HTTP (no browser): refusals (a forged form, a bad or too large number of seats, a
type still on sale) are shown on the page with their status and change nothing; a visitor who is not signed in
is sent to sign in and back; another tenant's, a private or an unknown type, or a tenant without resale, is the
pages' 404."""

from __future__ import annotations

import re

import pytest
from pages_world import concert, pages_tenant
from test_payment_providers import disable


def _csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


@pytest.fixture
def shop(app):
    """A tenant with pages and resale, a concert with a sold-out, an on-sale and a private type, and a signed-in
    browser (`shop.browser`) of `shop.fan`."""
    tenant = pages_tenant(app)
    tenant.enable("resale")
    tenant.event = concert(tenant, types=[
        {"name": "Front row", "price": 60, "inventory": 0, "currency": "EUR"},
        {"name": "Balcony", "price": 20, "inventory": 50, "currency": "EUR"},
        {"name": "Crew", "price": 0, "inventory": 0, "currency": "EUR", "visibility": "private"}])
    tenant.types = {t["name"]: t["id"] for t in
                    tenant.staff.get(f"/events/{tenant.event['id']}/ticket-types").get_json()["data"]}
    tenant.fan = tenant.customer(email="fan@example.com", password="correct-horse-9")
    tenant.browser = app.test_client()
    login = tenant.browser.get(f"/e/{tenant.orgid}/account/login")
    signed = tenant.browser.post(f"/e/{tenant.orgid}/account/login", data={
        "email": "fan@example.com", "password": "correct-horse-9", "csrf": _csrf(login.get_data(as_text=True))})
    assert signed.status_code == 303
    return tenant


def _path(shop, name: str) -> str:
    return f"/e/{shop.orgid}/waitlist/{shop.types[name]}"


def _entries(shop) -> list[dict]:
    return shop.fan.get(f"/client/events/{shop.event['id']}/waitlist").get_json()["entries"]


def test_refusals_are_shown_on_the_page_and_change_nothing(shop):
    page = shop.browser.get(_path(shop, "Front row"))
    assert page.status_code == 200
    token = _csrf(page.get_data(as_text=True))
    forged = shop.browser.post(_path(shop, "Front row"), data={"action": "join", "seats": "1", "csrf": "x" * 43})
    assert forged.status_code == 403 and 'role="alert"' in forged.get_data(as_text=True)
    for seats, status in (("0", 422), ("abc", 422), ("11", 422)):
        refused = shop.browser.post(_path(shop, "Front row"), data={"action": "join", "seats": seats, "csrf": token})
        assert refused.status_code == status, seats
        assert 'aria-invalid="true"' in refused.get_data(as_text=True) or seats == "11"
    on_sale = shop.browser.post(_path(shop, "Balcony"), data={"action": "join", "seats": "1", "csrf": token})
    assert on_sale.status_code == 409 and 'role="alert"' in on_sale.get_data(as_text=True)
    not_in_line = shop.browser.post(_path(shop, "Front row"), data={"action": "leave", "csrf": token})
    assert not_in_line.status_code == 404 and 'role="alert"' in not_in_line.get_data(as_text=True)
    assert _entries(shop) == []

    joined = shop.browser.post(_path(shop, "Front row"), data={"action": "join", "seats": "3", "csrf": token})
    assert joined.status_code == 303 and joined.headers["Location"] == _path(shop, "Front row") + "?done=joined"
    assert [(e["seats"], e["position"]) for e in _entries(shop)] == [(3, 1)]
    shown = shop.browser.get(joined.headers["Location"]).get_data(as_text=True)
    assert "Your place in line: 1" in shown and 'aria-live="polite"' in shown


def test_a_visitor_is_sent_to_sign_in_and_back(shop, app):
    visitor = app.test_client()
    page = visitor.get(_path(shop, "Front row")).get_data(as_text=True)
    assert "Sign in to join" in page and 'name="seats"' not in page
    sent = visitor.post(_path(shop, "Front row"), data={"action": "join", "seats": "1"})
    assert sent.status_code == 303 and sent.headers["Location"].startswith(f"/e/{shop.orgid}/account/login?next=")
    assert _entries(shop) == []


def test_other_tenants_private_unknown_types_and_tenants_without_resale_are_404(shop, app):
    assert shop.browser.get(_path(shop, "Crew")).status_code == 404
    assert shop.browser.get(f"/e/{shop.orgid}/waitlist/no-such-type").status_code == 404
    other = pages_tenant(app, name="Other Club")
    other.enable("resale")
    assert shop.browser.get(f"/e/{other.orgid}/waitlist/{shop.types['Front row']}").status_code == 404
    disable(shop, "resale")
    assert shop.browser.get(_path(shop, "Front row")).status_code == 404

"""The waiting list on the attendee pages in a real Chromium: a sold-out ticket type's "Join the waiting list"
on the event page, the sign-in that comes back, joining for two seats behind someone already in line (place 2),
leaving; the page in French; no such link while seats are on sale or for a tenant without resale."""

from __future__ import annotations

from pages_world import concert, pages_tenant

from browser.browser_harness import sign_in_on_page


def _sold_out_concert(tenant) -> tuple[dict, dict]:
    """A concert with a sold-out type (no seats) and one on sale; returns (event, the sold-out type)."""
    event = concert(tenant, types=[{"name": "Front row", "price": 60, "inventory": 0, "currency": "EUR"},
                                   {"name": "Balcony", "price": 20, "inventory": 50, "currency": "EUR"}])
    types = tenant.staff.get(f"/events/{event['id']}/ticket-types").get_json()["data"]
    return event, next(t for t in types if t["name"] == "Front row")


def _booking_of(checkout_url: str) -> str:
    """The booking part of a booking page's signed token (the token itself carries its signing time)."""
    return checkout_url.split("/checkout/", 1)[1].split(".", 1)[0]


def _entries(customer, event) -> list[dict]:
    return customer.get(f"/client/events/{event['id']}/waitlist").get_json()["entries"]


def test_a_customer_joins_the_waiting_list_from_the_event_page_and_leaves(app, page, screenshots):
    tenant = pages_tenant(app, plugins=("pages",))
    tenant.enable("resale")
    event, front = _sold_out_concert(tenant)
    first = tenant.customer(email="ann@example.com")
    assert first.post(f"/client/events/{event['id']}/waitlist",
                      json={"ticketTypeId": front["id"], "seats": 1}).status_code == 201
    bea = tenant.customer(email="bea@example.com", password="correct-horse-9")

    page.goto(f"/e/{tenant.orgid}/{event['slug']}")
    links = page.locator(".more-offer-waitlist")
    assert links.count() == 1   # only beside the sold-out type
    assert page.locator(".offer-sold_out .more-offer-waitlist").count() == 1
    screenshots(page, "event")
    links.get_by_role("link", name="Join the waiting list (Front row)").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Waiting list"
    page.get_by_role("link", name="Sign in to join").click()
    sign_in_on_page(page, "bea@example.com", "correct-horse-9")
    page.wait_for_url(f"**/e/{tenant.orgid}/waitlist/{front['id']}")

    page.get_by_label("Seats wanted").fill("11")   # above the tenant's maximum (10): refused, nothing changed
    page.locator("#waitlist-seats").evaluate("input => input.removeAttribute('max')")
    page.get_by_role("button", name="Join the waiting list").click()
    assert page.get_by_role("alert").is_visible()
    assert _entries(bea, event) == []

    page.get_by_label("Seats wanted").fill("2")
    page.get_by_role("button", name="Join the waiting list").click()
    status = page.get_by_role("status")
    assert "You are on the waiting list." in status.inner_text()
    assert "Your place in line: 2 · 2 seats" in status.inner_text()
    screenshots(page, "joined")
    [entry] = _entries(bea, event)
    assert (entry["status"], entry["seats"], entry["position"]) == ("waiting", 2, 2)

    page.goto(f"/e/{tenant.orgid}/account")
    lists = page.get_by_role("region", name="Your waiting lists")
    assert "Concert de Jazz: Front row" in lists.inner_text()
    assert "2 seats · Your place in line: 2" in lists.inner_text()
    screenshots(page, "account")
    lists.get_by_role("link", name="Concert de Jazz: Front row").click()
    page.wait_for_url(f"**/e/{tenant.orgid}/waitlist/{front['id']}")

    page.goto(f"/e/{tenant.orgid}/waitlist/{front['id']}?lang=fr")
    assert page.get_by_role("heading", level=1).inner_text() == "Liste d’attente"
    assert "Votre rang dans la file : 2" in page.get_by_role("status").inner_text()
    screenshots(page, "joined-fr")
    page.goto(f"/e/{tenant.orgid}/waitlist/{front['id']}?lang=en")

    page.get_by_role("button", name="Leave the waiting list").click()
    assert "You have left the waiting list." in page.get_by_role("status").inner_text()
    assert page.get_by_role("button", name="Join the waiting list").is_visible()
    assert [e["status"] for e in _entries(bea, event)] == ["left"]
    assert [e["position"] for e in _entries(first, event)] == [1]   # the one ahead keeps their place
    screenshots(page, "left")
    page.goto(f"/e/{tenant.orgid}/account")
    assert "Left the list" in page.get_by_role("region", name="Your waiting lists").inner_text()


def test_an_open_offer_shows_its_deadline_and_checkout_link_on_the_account_page(app, page, screenshots):
    tenant = pages_tenant(app)
    tenant.enable("resale")
    event, front = _sold_out_concert(tenant)
    bea = tenant.customer(email="bea@example.com", password="correct-horse-9")
    assert bea.post(f"/client/events/{event['id']}/waitlist",
                    json={"ticketTypeId": front["id"], "seats": 2}).status_code == 201
    raised = tenant.staff.patch(f"/events/ticket-types/{front['id']}", json={"capacity": 2})
    assert raised.status_code == 200, raised.get_json()
    [entry] = _entries(bea, event)
    assert entry["status"] == "offered" and entry["offer"]["checkoutUrl"]

    page.goto(f"/e/{tenant.orgid}/account")
    sign_in_on_page(page, "bea@example.com", "correct-horse-9")
    page.wait_for_url(f"**/e/{tenant.orgid}/account")
    lists = page.get_by_role("region", name="Your waiting lists")
    assert "Seats are waiting for you" in lists.inner_text()
    assert "2 seats are held for you until" in lists.inner_text()
    screenshots(page, "offer")
    pay = lists.get_by_role("link", name="Pay for your seats (Concert de Jazz: Front row)")
    assert _booking_of(pay.get_attribute("href")) == _booking_of(entry["offer"]["checkoutUrl"])
    pay.click()
    page.wait_for_url(f"**/{event['slug']}/checkout/**")
    assert page.get_by_role("heading", level=1).inner_text() == "Pay for your order"


def test_no_waiting_list_link_without_resale(app, page):
    tenant = pages_tenant(app, plugins=("pages",))
    event, front = _sold_out_concert(tenant)
    page.goto(f"/e/{tenant.orgid}/{event['slug']}")
    assert page.locator(".offer-sold_out").count() == 1
    assert page.locator(".more-offer-waitlist").count() == 0
    assert page.goto(f"/e/{tenant.orgid}/waitlist/{front['id']}").status == 404

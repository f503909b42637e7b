"""Resale on the attendee pages in a real Chromium: the event page shows a listed ticket beside its type, the
buyer signs in, buys it on the listing's checkout and pays with Stripe's Payment Element (the loopback fake's
stand-in for Stripe.js); the seller's old QR is refused and their money comes back; the page in French."""

from __future__ import annotations

from fakes.checks import fake_fixtures
from fakes.stripe_server import FakeStripe
from pages_world import concert, pages_tenant, use_stripe_fake
from test_resale_listings import booking_of, bought_ticket, decode_png, open_resale, stripe_refunds

from browser.browser_harness import sign_in_on_page

fake_server, fake = fake_fixtures(FakeStripe)


def test_a_fan_buys_a_listed_ticket_from_the_event_page(app, page, fake, screenshots):
    tenant = pages_tenant(app, plugins=("pages",))
    use_stripe_fake(tenant, fake)
    tenant.enable("resale")
    event = concert(tenant, types=[{"name": "Standing", "price": 30, "inventory": 5, "currency": "EUR",
                                    "transferable": True}])
    standing = tenant.staff.get(f"/events/{event['id']}/ticket-types").get_json()["data"][0]["id"]
    open_resale(tenant, event["id"], feeFixed=100)
    seller = tenant.customer(email="sam@example.com")
    ticket = bought_ticket(tenant, fake, seller, event["id"], standing)
    old_qr = decode_png(seller.get(f"/client/events/tickets/{ticket['id']}/qr").data)
    listing = seller.post(f"/client/events/tickets/{ticket['id']}/resale", json={"price": 2500}).get_json()
    tenant.customer(email="bea@example.com", password="correct-horse-9")

    page.goto(f"/e/{tenant.orgid}/{event['slug']}")
    resale = page.locator(".more-offer-resale")
    assert resale.inner_text().startswith("Resale: €25.00")
    screenshots(page, "event")
    resale.get_by_role("link").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Resale ticket"
    page.get_by_role("link", name="Sign in to buy").click()
    sign_in_on_page(page, "bea@example.com", "correct-horse-9")
    page.wait_for_url(f"**/e/{tenant.orgid}/resale/{listing['id']}")
    screenshots(page, "listing")
    page.get_by_role("button", name="Buy for €25.00").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Pay for your order"
    page.locator("#payment-element[data-mounted=payment]").wait_for()
    page.get_by_role("button", name="Pay €25.00").click()
    page.get_by_role("heading", name="Thank you! Your order is confirmed.").wait_for()
    assert "1 ticket issued." in page.content() and "Resale: Standing" in page.content()
    screenshots(page, "confirmation")

    sold = seller.get(f"/client/events/tickets/{ticket['id']}/resale").get_json()
    assert sold["status"] == "sold"
    buyer_tickets = tenant.staff.get(f"/events/{event['id']}/resale").get_json()["listings"][0]["buyerTicketId"]
    assert tenant.staff.get(f"/events/tickets/{buyer_tickets}").get_json()["holderEmail"] == "bea@example.com"
    refused = tenant.staff.post("/events/check-in", json={"qrPayload": old_qr})
    assert refused.status_code == 409 and refused.get_json()["type"] == "ticket_revoked"
    assert [r["amount"] for r in stripe_refunds(fake, booking_of(ticket["id"]).payment_ref)] == [2400]
    page.goto(f"/e/{tenant.orgid}/{event['slug']}")
    assert page.locator(".more-offer-resale").count() == 0   # sold: no longer offered

    page.goto(f"/e/{tenant.orgid}/resale/{listing['id']}?lang=fr")
    assert page.get_by_role("heading", level=1).inner_text() == "Billet en revente"
    assert "Ce billet a été vendu." in page.content()
    screenshots(page, "listing-fr")

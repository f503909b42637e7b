"""Paying with PayPal on the checkout in a real Chromium: PayPal's buttons (the loopback fake's stand-in for its JS
SDK) approve the booking's order, and the booking is confirmed through the core on the way back."""

from __future__ import annotations

from fakes.checks import fake_fixtures
from fakes.paypal_server import FakePayPal
from pages_world import concert, event_bookings, pages_tenant, use_paypal_fake

from browser.test_checkout import buyer

fake_server, fake = fake_fixtures(FakePayPal)


def test_a_visitor_pays_with_paypal_and_sees_the_tickets(app, page, fake, screenshots):
    tenant = pages_tenant(app, plugins=("pages",))
    settings = use_paypal_fake(tenant, fake)
    event = concert(tenant)
    page.goto(f"/e/{tenant.orgid}/{event['slug']}/checkout")
    page.get_by_label("Seated").select_option("2")
    buyer(page)
    page.get_by_role("button", name="Continue").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Pay for your order"
    paypal_button = page.get_by_role("button", name="PayPal", exact=True)
    paypal_button.wait_for()
    assert page.get_by_role("button", name="Pay €53.00 with PayPal").is_hidden()   # the no-JS way, not needed
    assert len(fake.calls("GET", "/sdk/js")) == 1                              # the SDK from the tenant's js_url
    sdk_url = page.locator("script[src*='/sdk/js']").get_attribute("src")
    assert sdk_url == f"{fake.url}/sdk/js?client-id={settings['client_id']}&currency=EUR&intent=capture"
    screenshots(page, "pay")
    paypal_button.click()
    page.get_by_role("heading", name="Thank you! Your order is confirmed.").wait_for()
    assert "2 tickets issued." in page.content()
    screenshots(page, "confirmation")
    [booking] = event_bookings(event["id"])
    assert (booking.status, booking.gateway, booking.amount, len(booking.ticket_rows)) == ("confirmed", "paypal",
                                                                                            5300, 2)
    order = fake.orders[booking.payment_ref]
    assert order["status"] == "COMPLETED"
    assert order["purchase_units"][0]["payments"]["captures"][0]["amount"] == {"currency_code": "EUR",
                                                                               "value": "53.00"}
    assert [c.path for c in fake.calls("POST", "/v2/checkout/orders")] == ["/v2/checkout/orders",
                                                                          f"/v2/checkout/orders/{order['id']}/capture"]

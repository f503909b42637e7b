"""The back button after buying, in a real Chromium: going back to the checkout and sending the form again shows
the booking already made (one booking), until the buyer presses "Buy more tickets", which starts a new order."""

from __future__ import annotations

from pages_world import concert, event_bookings, pages_tenant

from browser.test_checkout import buyer


def booking_of(url: str) -> str:
    """The booking a booking page's address names (its signed token's payload)."""
    return url.rsplit("/", 1)[1].split(".")[0]


def test_going_back_and_resubmitting_buys_once_until_buy_more(app, page, screenshots):
    tenant = pages_tenant(app)
    event = concert(tenant)
    page.goto(f"/e/{tenant.orgid}/{event['slug']}/checkout")
    page.get_by_label("Free entry").select_option("2")
    buyer(page)
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("heading", name="Thank you! Your order is confirmed.").wait_for()
    booking_url = page.url
    page.go_back()                                              # the buyer goes back to the form...
    page.get_by_role("heading", name="Checkout", exact=True).wait_for()
    page.get_by_label("Free entry").select_option("3")          # ...changes it and sends it again
    buyer(page)
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("heading", name="Thank you! Your order is confirmed.").wait_for()
    assert booking_of(page.url) == booking_of(booking_url)      # the same booking's page
    [booking] = event_bookings(event["id"])
    assert len(booking.ticket_rows) == 2
    screenshots(page, "same-booking")
    page.get_by_role("button", name="Buy more tickets").click()  # a new order, on purpose
    page.get_by_role("heading", name="Checkout", exact=True).wait_for()
    page.get_by_label("Free entry").select_option("1")
    buyer(page)
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("heading", name="Thank you! Your order is confirmed.").wait_for()
    assert booking_of(page.url) != booking_of(booking_url)
    assert [len(b.ticket_rows) for b in event_bookings(event["id"])] == [2, 1]

"""Paying a checkout's booking with PayPal without JavaScript, over HTTP: the booking's page posts to the core's
redirect flow, PayPal's approval page (the loopback fake) sends the buyer back through the core's signed return,
which confirms the booking once, and the buyer lands on the booking's page with the tickets."""

from __future__ import annotations

from urllib.parse import urlsplit

from fakes.checks import fake_fixtures
from fakes.paypal_server import FakePayPal
from pages_world import concert, event_bookings, pages_tenant, use_paypal_fake
from test_pages import text
from test_pages_checkout import checkout_path, form_key

fake_server, fake = fake_fixtures(FakePayPal)


def local(url: str) -> str:
    """The path and query of an absolute URL (the test client serves them)."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def redirect_order_of(fake, booking_id: str) -> dict:
    """The order PayPal's redirect flow made for the booking (the one with a way back)."""
    [order] = [o for o in fake.orders.values()
               if "payment_source" in o and o["purchase_units"][0]["custom_id"] == booking_id]
    return order


def _paypal_checkout(app, fake, seats: int):
    """A pages tenant paying with the PayPal fake, whose visitor checked out `seats` Seated tickets: (tenant, the
    visitor's client, the checkout form's answer)."""
    tenant = pages_tenant(app, plugins=("pages",))
    use_paypal_fake(tenant, fake)
    tenant.event = concert(tenant)
    seated = next(t["id"] for t in tenant.staff.get(f"/events/{tenant.event['id']}/ticket-types").get_json()["data"]
                  if t["name"] == "Seated")
    client = tenant.app.test_client()
    bought = client.post(checkout_path(tenant), data={"key": form_key(client, checkout_path(tenant)),
                                                      f"qty.{seated}": str(seats), "name": "Ann Lee",
                                                      "email": "ann@example.com"})
    return tenant, client, bought


def test_without_javascript_paypal_sends_the_buyer_back_to_the_confirmed_booking(app, fake):
    tenant, client, bought = _paypal_checkout(app, fake, 2)
    booking_page = bought.headers["Location"]
    shown = client.get(booking_page).get_data(as_text=True)
    assert f'action="{booking_page}"' in shown and "Pay €53.00 with PayPal" in shown   # the no-JS way
    in_french = text(tenant.app.test_client().get(booking_page + "?lang=fr"))   # its own language cookie
    assert "Payer 53,00 € avec PayPal" in in_french
    assert "Vous approuverez le paiement sur la page de PayPal, puis reviendrez ici." in in_french
    [booking] = event_bookings(tenant.event["id"])
    purchase_order = booking.payment_ref

    sent = client.post(booking_page)                                      # the button: to PayPal's page
    assert sent.status_code == 303
    redirect_order = redirect_order_of(fake, booking.id)
    assert sent.headers["Location"] == f"https://www.sandbox.paypal.com/checkoutnow?token={redirect_order['id']}"
    context = redirect_order["payment_source"]["paypal"]["experience_context"]
    assert "/payments/return/" in context["return_url"] and context["cancel_url"].endswith(booking_page)
    assert redirect_order["purchase_units"][0]["amount"] == {"currency_code": "EUR", "value": "53.00"}
    assert client.post(booking_page).headers["Location"] == sent.headers["Location"]   # one redirect order

    return_url = fake.approval_return(redirect_order["id"])               # approved at PayPal, which sends the
    back = client.get(local(return_url))                                  # buyer back through the core
    assert back.status_code == 303
    landed = urlsplit(back.headers["Location"])
    assert landed.path == booking_page and f"bookingId={booking.id}" in landed.query and "status=confirmed" in \
        landed.query
    shown = text(client.get(local(back.headers["Location"])))
    assert "Thank you! Your order is confirmed." in shown and "2 tickets issued." in shown
    [booking] = event_bookings(tenant.event["id"])
    assert (booking.status, booking.payment_ref, len(booking.ticket_rows)) == ("confirmed", redirect_order["id"], 2)
    assert fake.orders[redirect_order["id"]]["status"] == "COMPLETED"
    assert fake.orders[purchase_order]["status"] == "CREATED"             # the buttons' order was never captured

    again = client.get(local(return_url))                                 # a reload of the return: nothing twice
    assert again.status_code == 303 and "status=confirmed" in again.headers["Location"]
    assert len(fake.calls("POST", f"/v2/checkout/orders/{redirect_order['id']}/capture")) == 1
    assert len(event_bookings(tenant.event["id"])[0].ticket_rows) == 2
    assert local(client.post(booking_page).headers["Location"]) == booking_page   # paid: nothing more to pay


def test_a_return_that_was_not_approved_confirms_nothing(app, fake):
    tenant, client, bought = _paypal_checkout(app, fake, 1)
    client.post(bought.headers["Location"])
    [booking] = event_bookings(tenant.event["id"])
    order = redirect_order_of(fake, booking.id)
    back_url = order["payment_source"]["paypal"]["experience_context"]["return_url"] + f"?token={order['id']}"
    back = client.get(local(back_url))                                    # not approved at PayPal
    assert back.status_code == 303 and "status=pending" in back.headers["Location"]
    assert "Pay for your order" in text(client.get(local(back.headers["Location"])))
    assert event_bookings(tenant.event["id"])[0].status == "pending"
    forged = client.get(local(back_url.replace("/return/", "/return/x")))
    assert forged.status_code == 400 and forged.get_json()["type"] == "invalid_callback"

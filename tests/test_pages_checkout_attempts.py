"""The checkout form over HTTP: its key is kept per event checkout attempt (a cookie) until the buyer starts a new
order, so going back and sending the form again shows the booking it made instead of making another; and the
promotion code field shows only when one of the tenant's plugins takes codes."""

# ruff: noqa: F811 - the tests take the `club` fixture imported from test_pages_checkout as an argument
from __future__ import annotations

from pages_world import concert, event_bookings, pages_tenant
from test_pages import text
from test_pages_checkout import FORM_KEY, checkout_path, club, form_key  # noqa: F401 - `club` is a fixture

from core.services.pricing import takes_promo_codes
from core.tenancy import load_org


def buy(club, client, quantities: dict[str, int], **fields):
    """Post the form as rendered for `client` (its kept key) with `quantities` by ticket type name."""
    form = {"key": form_key(client, checkout_path(club)), "name": "Ann Lee", "email": "ann@example.com",
            "gateway": "offline", **{f"qty.{club.types[n]}": str(u) for n, u in quantities.items()}, **fields}
    return client.post(checkout_path(club), data=form), form


def booking_of(response) -> str:
    """The booking a redirect to a booking's page names (its signed token's payload)."""
    return response.headers["Location"].rsplit("/", 1)[1].split(".")[0]


def test_the_form_keeps_its_key_until_a_new_order_is_started(club):
    client = club.app.test_client()
    first_key = form_key(client, checkout_path(club))
    assert form_key(client, checkout_path(club)) == first_key            # a reload renders the same attempt
    bought, form = buy(club, client, {"Seated": 1})
    assert bought.status_code == 303 and form["key"] == first_key
    booking_page = client.get(bought.headers["Location"])
    assert "Buy more tickets" not in text(booking_page)                  # pending: the order is not over yet
    # back to the form: the same key, so sending it again (even changed) shows the booking it made
    again, form = buy(club, client, {"Seated": 2, "Free entry": 1})
    assert form["key"] == first_key and again.status_code == 303 and booking_of(again) == booking_of(bought)
    [booking] = event_bookings(club.event["id"])
    assert [line.quantity for line in booking.line_rows] == [1]
    other_buyer = club.app.test_client()                                 # another browser has its own attempt
    assert form_key(other_buyer, checkout_path(club)) != first_key
    started = client.post(checkout_path(club), data={"new_order": "1"})  # "Start again" / "Buy more tickets"
    assert started.status_code == 303 and started.headers["Location"] == checkout_path(club)
    assert len(event_bookings(club.event["id"])) == 1                    # starting a new order buys nothing
    second, form = buy(club, client, {"Seated": 2})
    assert form["key"] != first_key and booking_of(second) != booking_of(bought)
    assert [b.amount for b in event_bookings(club.event["id"])] == [2650, 5300]


def test_a_confirmed_order_offers_to_buy_more_and_a_refused_one_gets_a_new_key(club):
    client = club.app.test_client()
    bought, form = buy(club, client, {"Free entry": 1})
    shown = text(client.get(bought.headers["Location"]))
    assert "Thank you! Your order is confirmed." in shown and "Buy more tickets" in shown
    assert "Acheter d’autres billets" in text(club.app.test_client().get(bought.headers["Location"] + "?lang=fr"))
    client.post(checkout_path(club), data={"new_order": "1"})
    refused, refused_form = buy(club, client, {"Seated": 1, "Free entry": 60})   # more than the free type has
    assert refused.status_code in (409, 422)
    assert FORM_KEY.search(refused.get_data(as_text=True)).group(1) != refused_form["key"]
    assert form_key(client, checkout_path(club)) not in (form["key"], refused_form["key"])
    assert len(event_bookings(club.event["id"])) == 1


def test_the_promotion_code_field_shows_only_when_a_plugin_takes_codes(app, club):
    client = club.app.test_client()
    assert 'name="promo"' not in client.get(checkout_path(club)).get_data(as_text=True)
    assert takes_promo_codes(load_org(club.orgid)) is False
    shop = pages_tenant(app, "Record Shop", plugins=("pages", "offline", "storefront"))
    shop.event = concert(shop)
    shop.types = {t["name"]: t["id"] for t in shop.staff.get(f"/events/{shop.event['id']}/ticket-types")
                  .get_json()["data"]}
    promo = shop.staff.post("/storefront/promotions", json={"kind": "percentage", "value": 10, "code": "JAZZ10"})
    assert promo.status_code == 201, promo.get_json()
    client = shop.app.test_client()
    page = client.get(checkout_path(shop)).get_data(as_text=True)
    assert 'name="promo"' in page and "Promotion code (optional)" in page
    bought, _ = buy(shop, client, {"Seated": 2}, promo="JAZZ10")
    assert bought.status_code == 303, text(bought)
    [booking] = event_bookings(shop.event["id"])
    assert (booking.amount, booking.promo_code) == (4800, "JAZZ10")     # 2 x 25.00 less 10 %, plus 2 x 1.50 fees

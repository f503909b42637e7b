"""The checkout pages over HTTP (no browser): a hosted purchase makes the same booking as the API's, one booking
per form key, the core's refusals shown on the form (order limits, invite codes, holder details), the holders step,
the booking page's states, the checkout links the APIs show, and what other tenants and forged links get."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from pages_world import concert, concert_club, created, event_bookings, pages_tenant
from test_pages import page, text
from test_tenant_domains import add_domain

from core.models.base import utcnow

FORM_KEY = re.compile(r'name="key" value="([^"]+)"')


@pytest.fixture
def club(app):
    """A tenant with pages and offline payments, and its concert."""
    return concert_club(app)


def checkout_path(tenant, event=None) -> str:
    return f"/e/{tenant.orgid}/{(event or tenant.event)['slug']}/checkout"


def form_key(client, path: str) -> str:
    """The idempotency key the rendered form carries."""
    response = client.get(path)
    assert response.status_code == 200
    return FORM_KEY.search(response.get_data(as_text=True)).group(1)


def submit(tenant, quantities: dict[str, int], client=None, path=None, **fields):
    """Render the form, then post it with `quantities` (by ticket type name) and `fields`."""
    client = client or tenant.app.test_client()
    path = path or checkout_path(tenant)
    form = {"key": form_key(client, path), "name": "Ann Lee", "email": "ann@example.com", "gateway": "offline",
            **{f"qty.{tenant.types[name]}": str(units) for name, units in quantities.items()}, **fields}
    return client.post(path, data=form), form, client


def test_a_hosted_purchase_makes_the_booking_an_api_purchase_makes(club):
    hosted, _, client = submit(club, {"Seated": 2, "Free entry": 1})
    assert hosted.status_code == 303
    api = club.guest.post("/client/events/tickets/purchase", json={
        "eventId": club.event["id"], "email": "ann@example.com", "name": "Ann Lee", "paymentGateway": "offline",
        "items": [{"ticketTypeId": club.types["Seated"], "quantity": 2},
                  {"ticketTypeId": club.types["Free entry"], "quantity": 1}]})
    assert api.status_code == 201, api.get_json()
    first, second = event_bookings(club.event["id"])
    assert second.id == api.get_json()["bookingId"]

    def shape(booking):
        return ({k: getattr(booking, k) for k in ("status", "gateway", "currency", "subtotal", "fees", "adjustments",
                                                  "amount", "seats", "email", "name", "source")},
                sorted((line.kind, line.ticket_type_id, line.description, line.quantity, line.seats, line.unit_price,
                        line.unit_fee, line.total) for line in booking.line_rows))
    assert shape(first) == shape(second)
    assert (first.amount, first.fees) == (5300, 300)
    for booking in (first, second):                      # both confirmed the same way: same tickets
        assert club.staff.post(f"/events/bookings/{booking.id}/mark-paid", json={}).status_code == 200
    first, second = event_bookings(club.event["id"])
    assert sorted(t.ticket_type_id for t in first.ticket_rows) == sorted(t.ticket_type_id for t in second.ticket_rows)
    assert len(first.ticket_rows) == 3
    shown = text(client.get(hosted.headers["Location"]))
    assert "Thank you! Your order is confirmed." in shown and "3 tickets issued." in shown


def test_a_free_order_is_confirmed_at_once_and_the_same_form_twice_is_one_booking(club):
    response, form, client = submit(club, {"Free entry": 2})
    again = client.post(checkout_path(club), data=form)
    assert response.status_code == again.status_code == 303
    [booking] = event_bookings(club.event["id"])
    assert (booking.status, booking.gateway, len(booking.ticket_rows)) == ("confirmed", "free", 2)
    changed = client.post(checkout_path(club), data={**form, f"qty.{club.types['Free entry']}": "3"})
    assert changed.status_code == 303   # the form sent again with other choices shows the booking it made
    assert changed.headers["Location"].rsplit("/", 1)[1].split(".")[0] == \
        response.headers["Location"].rsplit("/", 1)[1].split(".")[0]
    assert len(event_bookings(club.event["id"])) == 1


def test_the_booking_page_shows_the_hold_and_the_offline_instructions(club):
    club.configure("offline", instructions="Pay to IBAN FR76 0000 0000 0000")
    response, _, client = submit(club, {"Seated": 1})
    shown = text(client.get(response.headers["Location"]))
    assert "Pay for your order" in shown and "Your tickets are held until" in shown
    assert "Pay to IBAN FR76 0000 0000 0000" in shown and "Seated 1 €26.50" in shown
    assert "Including service fees €1.50" in shown and "Total €26.50" in shown


def test_the_core_refuses_what_the_form_cannot_prevent(club):
    limited = concert(club, name="Small room", types=[
        {"name": "Pair", "price": 10, "currency": "EUR", "inventory": 10, "order_min": 2, "order_max": 4}])
    pair = club.staff.get(f"/events/{limited['id']}/ticket-types").get_json()["data"][0]["id"]
    club.types["Pair"] = pair
    path = checkout_path(club, limited)
    menu = re.findall(r'<option value="(\d+)"', club.app.test_client().get(path).get_data(as_text=True))
    assert menu == ["0", "2", "3", "4"]
    low, _, _ = submit(club, {"Pair": 1}, path=path)
    assert low.status_code == 422 and "below the minimum" in text(low)
    high, _, _ = submit(club, {"Pair": 5}, path=path)
    assert high.status_code == 422 and "above the maximum" in text(high)
    none, _, _ = submit(club, {}, path=path)
    assert none.status_code == 422 and "Choose at least one ticket." in text(none)
    bad_mail, _, _ = submit(club, {"Pair": 2}, path=path, email="not-an-address")
    assert bad_mail.status_code == 422 and 'aria-invalid="true"' in bad_mail.get_data(as_text=True)
    assert event_bookings(limited["id"]) == []


def test_invite_only_types_open_with_their_code(club):
    hidden = created(club.staff.post(f"/events/{club.event['id']}/ticket-types", json={
        "name": "Friends", "price": 5, "currency": "EUR", "capacity": 10, "visibility": "invite-only",
        "inviteCode": "JAZZFRIENDS"}))
    club.types["Friends"] = hidden["id"]
    client = club.app.test_client()
    assert "Friends" not in text(client.get(checkout_path(club)))
    assert "Friends" not in text(client.get(checkout_path(club) + "?invite=WRONG"))
    opened = checkout_path(club) + "?invite=JAZZFRIENDS"
    assert "Friends €5.00 Invite only" in text(client.get(opened))
    wrong, _, _ = submit(club, {"Friends": 1}, path=opened, invite="WRONG")
    assert wrong.status_code == 422 and "Choose at least one ticket." in text(wrong)   # not offered without its code
    bought, _, _ = submit(club, {"Friends": 1}, path=opened, invite="JAZZFRIENDS")
    assert bought.status_code == 303
    [booking] = event_bookings(club.event["id"])
    assert [line.ticket_type_id for line in booking.line_rows] == [hidden["id"]]


def test_types_that_ask_for_holders_get_a_holders_step(club):
    configuration = created(club.staff.post("/ticket-configurations", json={"name": "Named", "require_name": True}))
    named = created(club.staff.post(f"/events/{club.event['id']}/ticket-types", json={
        "name": "Named seat", "price": 0, "capacity": 10, "ticketConfigurationId": configuration["id"]}))
    club.types["Named seat"] = named["id"]
    first, form, client = submit(club, {"Named seat": 2})
    assert first.status_code == 200 and "Who are the tickets for?" in text(first)
    assert len(re.findall(rf'name="holder\.{named["id"]}\.\d\.name"', first.get_data(as_text=True))) == 2
    holders = {**form, "step": "holders", f"holder.{named['id']}.0.name": "Ann Lee"}
    missing = client.post(checkout_path(club), data=holders)
    assert missing.status_code == 422 and "holder details where they are required" in text(missing)
    key = FORM_KEY.search(missing.get_data(as_text=True)).group(1)
    done = client.post(checkout_path(club), data={**holders, "key": key, f"holder.{named['id']}.1.name": "Bo Park"})
    assert done.status_code == 303, text(done)
    [booking] = event_bookings(club.event["id"])
    assert sorted(t.holder_name for t in booking.ticket_rows) == ["Ann Lee", "Bo Park"]


def test_the_checkout_links_the_apis_show_open_the_checkout(club, operator):
    lists = club.staff.get(f"/events/{club.event['id']}/lists").get_json()["data"]
    for link in (club.event["checkout_url"], lists[0]["links"]["order_page"]):
        path = "/" + link.split("://", 1)[1].split("/", 1)[1]
        response = page(club, path)
        assert response.status_code == 200 and "Checkout" in text(response), link
    host = f"tickets.{club.orgid}.example"
    assert add_domain(operator, club, host).status_code == 201
    own = club.app.test_client()
    own_path = f"/e/{club.event['slug']}/checkout"
    response, _, _ = submit(club, {"Free entry": 1}, client=_at(own, host), path=own_path)
    assert response.status_code == 303 and response.headers["Location"].startswith(own_path + "/")


def _at(client, host: str):
    """`client` sending `Host: host`."""
    class AtHost:
        def get(self, path, **kw):
            return client.get(path, base_url=f"http://{host}", **kw)

        def post(self, path, **kw):
            return client.post(path, base_url=f"http://{host}", **kw)
    return AtHost()


def test_forged_foreign_or_expired_links_and_disabled_tenants(app, club, clock_offset):
    response, _, client = submit(club, {"Seated": 1})
    good = response.headers["Location"]
    token = good.rsplit("/", 1)[1]
    assert client.get(good[:-3] + "xyz").status_code == 404
    other = pages_tenant(app, "Other club")
    other.event = concert(other)
    assert page(other, f"{checkout_path(other)}/{token}").status_code == 404       # another tenant's booking
    clock_offset(11 * 60)                                                          # the hold runs out
    assert "Your hold ran out" in text(client.get(good))
    [booking] = event_bookings(club.event["id"])
    assert booking.status == "expired"
    plain = pages_tenant(app, "No pages", plugins=("offline",))
    event = concert(plain)
    refused = page(plain, f"/e/{plain.orgid}/{event['slug']}/checkout")
    assert refused.status_code == 404 and refused.get_json()["type"] == "plugin_not_enabled"


@pytest.fixture
def clock_offset(tmp_path):
    """Move this process's clock (`core.clock`) by some seconds for one test."""
    from core import clock

    path = tmp_path / "offset"

    def move(seconds: float) -> None:
        path.write_text(str(seconds))
        clock.use_clock_file(str(path))
    yield move
    clock.use_clock_file(None)


def test_the_clock_moves_only_when_a_clock_file_is_named(clock_offset):
    before = utcnow()
    clock_offset(3600)
    moved = utcnow()
    assert dt.timedelta(minutes=59) < moved - before < dt.timedelta(minutes=61)


def test_the_ticket_email_links_to_the_booking_and_event_pages(app):
    from smtp_server import SmtpServer

    smtp = SmtpServer().start()
    try:
        tenant = pages_tenant(app, plugins=("pages", "offline", "notifications"))
        tenant.configure("notifications", smtp_host="127.0.0.1", smtp_port=str(smtp.port))
        tenant.event = concert(tenant)
        tenant.types = {t["name"]: t["id"]
                        for t in tenant.staff.get(f"/events/{tenant.event['id']}/ticket-types").get_json()["data"]}
        response, _, client = submit(tenant, {"Free entry": 1})
        assert response.status_code == 303
        [mail] = smtp.messages
        body = mail.get_body(("plain",)).get_content().replace("\r\n", "\n")
        site = tenant.event["site_url"]
        assert f"Event page: {site}\n" in body and f"Add it to your calendar: {site}.ics\n" in body
        order = re.search(r"Your order: (\S+)", body).group(1)
        assert order.startswith(site + "/checkout/")
        opened = client.get("/" + order.split("://", 1)[1].split("/", 1)[1])
        assert "Thank you! Your order is confirmed." in text(opened)
        html = mail.get_body(("html",)).get_content()
        assert f'<a href="{site}">Event page</a>' in html
    finally:
        smtp.stop()


def test_a_lists_checkout_offers_the_types_that_sell_on_it(app, club):
    vip = created(club.staff.post(f"/events/{club.event['id']}/lists", json={"name": "VIP lounge"}))
    moved = club.staff.patch(f"/events/ticket-types/{club.types['Seated']}", json={"listId": vip["id"]})
    assert moved.status_code == 200
    default = club.staff.get(f"/events/{club.event['id']}/lists").get_json()["data"][0]
    client = club.app.test_client()
    on_vip = text(client.get(checkout_path(club) + f"?list={vip['id']}"))
    assert "VIP lounge" in on_vip and "Seated" in on_vip and "Free entry" not in on_vip
    on_default = text(client.get(checkout_path(club) + f"?list={default['id']}"))
    assert "Free entry" in on_default and "Seated" not in on_default
    bought, _, _ = submit(club, {"Seated": 1}, client=client, path=checkout_path(club), list=vip["id"])
    assert bought.status_code == 303
    refused, _, _ = submit(club, {"Seated": 1}, client=client, path=checkout_path(club), list=default["id"])
    assert refused.status_code == 422 and "Choose at least one ticket." in text(refused)   # not sold on that list
    other = pages_tenant(app, "Other club")
    theirs = concert(other)
    their_list = other.staff.get(f"/events/{theirs['id']}/lists").get_json()["data"][0]
    for bad in (their_list["id"], "no-such-list"):
        assert client.get(checkout_path(club) + f"?list={bad}").status_code == 404
    assert len(event_bookings(club.event["id"])) == 1

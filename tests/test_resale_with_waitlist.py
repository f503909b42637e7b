"""The waiting list and resale listings together, end to end and with no stand-ins: a listing of a sold-out type
goes to the first in line (e-mailed over real SMTP with the `?offer=` checkout link), nobody else can buy it,
the offered customer buys it through the API over real HTTP and pays at the loopback Stripe fake; an offer that
runs out passes on once, then the listing goes on public sale; a holder withdrawing an offered listing ends the
offer and the customer waits again in their place. Every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from fakes.checks import fake_fixtures
from fakes.stripe_server import FakeStripe
from smtp_server import HttpReceiver, SmtpServer
from test_purchase_support import make_event, make_type
from test_resale_listings import booking_of, bought_ticket, open_resale, stripe_refunds, use_stripe

from core import db as database
from core.models import Ticket, utcnow
from plugins.resale import waitlist_offers
from plugins.resale.waitlist_models import WaitlistOffer

fake_server, fake = fake_fixtures(FakeStripe)


@pytest.fixture
def world(live_server, tenant, fake, config, monkeypatch):
    """A sold-out transferable 30.00 type (its one ticket held by a seller), resale open (10 % fee), two fans in
    line, three other customers, real SMTP and a webhook receiver on loopback."""
    smtp, receiver = SmtpServer().start(), HttpReceiver().start()
    monkeypatch.setattr(config, "webhooks_allow_private", True)
    use_stripe(tenant, fake)
    for plugin in ("notifications", "automation", "pages"):
        tenant.enable(plugin)
    tenant.configure("notifications", smtp_host="127.0.0.1", smtp_port=str(smtp.port))
    from plugins.automation.service import EVENT_TYPES

    hooked = tenant.staff.post("/automation/endpoints", json={"url": receiver.url, "eventTypes": list(EVENT_TYPES)})
    assert hooked.status_code == 201, hooked.get_json()
    event_id = make_event(tenant)
    tt = make_type(tenant, event_id, price=30, capacity=1, transferable=True)
    open_resale(tenant, event_id, feeFixed=0, feePercentBp=1000)
    seller = tenant.customer(name="Sam Seller")
    ticket = bought_ticket(tenant, fake, seller, event_id, tt)
    first, second, third = (tenant.customer(name=n) for n in ("First Fan", "Second Fan", "Third Fan"))
    for fan in (first, second):
        joined = fan.post(f"/client/events/{event_id}/waitlist", json={"ticketTypeId": tt, "seats": 1})
        assert joined.status_code == 201, joined.get_json()
    try:
        yield {"tenant": tenant, "server": live_server, "fake": fake, "smtp": smtp, "receiver": receiver,
               "event": event_id, "type": tt, "seller": seller, "ticket": ticket, "first": first,
               "second": second, "third": third}
    finally:
        smtp.stop()
        receiver.stop()


def http(world, customer, method: str, path: str, body: dict | None = None) -> requests.Response:
    """One request to the live server as `customer`."""
    headers = {"orgid": world["tenant"].orgid, "Authorization": f"Bearer {customer.token}"}
    return requests.request(method, world["server"].url + path, json=body, headers=headers, timeout=60)


def list_it(world) -> dict:
    response = world["seller"].post(f"/client/events/tickets/{world['ticket']['id']}/resale", json={"price": 3000})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def waitlist_mails(world, customer) -> list:
    return [m for m in world["smtp"].messages if m["To"] == customer.email and m["X-Boxoffice-Kind"] == "waitlist"]


def offer_token(world, customer, listing_id: str) -> str:
    """The `?offer=` token of the offer e-mail `customer` received last, its link pointing at the listing."""
    mail = waitlist_mails(world, customer)[-1]
    assert mail["Subject"].startswith("Seats are waiting for you"), mail["Subject"]
    text = mail.get_body(("plain",)).get_content()
    link = next(word for word in text.split() if "?offer=" in word)
    url = urlparse(link)
    assert url.path.endswith(f"/resale/{listing_id}")
    return parse_qs(url.query)["offer"][0]


def buy(world, customer, listing_id: str, offer: str | None = None) -> requests.Response:
    body = {"paymentGateway": "stripe", **({"offer": offer} if offer else {})}
    return http(world, customer, "POST", f"/client/events/{world['event']}/resale/{listing_id}/purchase", body)


def pay_and_confirm(world, customer, booking: dict) -> dict:
    world["fake"].pay(booking["paymentRef"])
    sale = http(world, customer, "POST", f"/client/events/resale/sales/{booking['bookingId']}/confirm")
    assert sale.status_code == 200, sale.json()
    return sale.json()


def entry_of(world, customer) -> dict:
    (entry,) = http(world, customer, "GET", f"/client/events/{world['event']}/waitlist").json()["entries"]
    return entry


def offers_on(world, listing_id: str) -> list[WaitlistOffer]:
    with database.db.connection_context():
        return list(WaitlistOffer.select().where((WaitlistOffer.org == world["tenant"].orgid)
                                                 & (WaitlistOffer.listing_id == listing_id))
                    .order_by(WaitlistOffer.created_at, WaitlistOffer.id))


def run_out_and_sweep(world, offer: WaitlistOffer) -> int:
    """The offer's deadline passes; the periodic sweep runs (twice: the second finds nothing)."""
    with database.db.connection_context():
        WaitlistOffer.update(expires_at=utcnow() - dt.timedelta(seconds=1)).where(
            (WaitlistOffer.id == offer.id) & (WaitlistOffer.org == offer.org_id)).execute()
        lapsed = waitlist_offers.lapse_listing_offers()
        assert waitlist_offers.lapse_listing_offers() == 0
    return lapsed


def ticket_status(ticket_id: str) -> str:
    with database.db.connection_context():
        return Ticket.get_by_id(ticket_id).status


def webhooks(world, prefix: str) -> list[str]:
    return [r.json()["type"] for r in world["receiver"].received if r.json()["type"].startswith(prefix)]


def test_the_first_in_line_gets_the_listing_buys_it_through_the_link_and_the_sale_completes(world):
    listing = list_it(world)
    assert listing["status"] == "offered"
    first, second, third = world["first"], world["second"], world["third"]
    token = offer_token(world, first, listing["id"])
    assert waitlist_mails(world, second)[-1]["Subject"].startswith("You are on the waiting list")
    assert http(world, third, "GET", f"/client/events/{world['event']}/resale").json()["listings"] == []

    for stranger, sent in ((third, None), (second, None), (third, token)):   # a token is only for its customer
        refused = buy(world, stranger, listing["id"], sent)
        assert refused.status_code == 409 and refused.json()["type"] == "listing_unavailable", refused.json()
    intents = len(world["fake"].intents)

    booking = buy(world, first, listing["id"], token)
    assert booking.status_code == 201, booking.json()
    assert len(world["fake"].intents) == intents + 1 and booking.json()["amount"] == 3000
    sale = pay_and_confirm(world, first, booking.json())
    assert sale["status"] == "sold"

    assert ticket_status(world["ticket"]["id"]) == "transferred"   # the seller's is revoked
    mine = http(world, first, "GET", "/client/events/tickets/mine").json()["tickets"]
    assert [(t["id"], t["status"]) for t in mine] == [(sale["ticketId"], "valid")]
    seller_payment = booking_of(world["ticket"]["id"]).payment_ref
    assert [r["amount"] for r in stripe_refunds(world["fake"], seller_payment)] == [2700]   # 30.00 minus 10 %
    assert stripe_refunds(world["fake"], booking.json()["paymentRef"]) == []
    assert entry_of(world, first)["status"] == "accepted"
    assert entry_of(world, second)["status"] == "waiting" and entry_of(world, second)["position"] == 1
    assert [o.status for o in offers_on(world, listing["id"])] == ["accepted"]
    mine_listing = world["seller"].get(f"/client/events/tickets/{world['ticket']['id']}/resale").get_json()
    assert mine_listing["status"] == "sold"

    assert [m["Subject"].split(":")[0] for m in waitlist_mails(world, first)] == [
        f"You are on the waiting list for {m}" for m in [_event_name(world)]] + [
        "Seats are waiting for you", f"Your waiting-list seats for {_event_name(world)} are yours"]
    kinds = {m["X-Boxoffice-Kind"] for m in world["smtp"].messages if m["To"] == world["seller"].email}
    assert {"resale_listed", "resale_sold"} <= kinds
    assert any(m["To"] == first.email and m["X-Boxoffice-Kind"] == "tickets_issued" for m in world["smtp"].messages), [
        (m["To"], m["X-Boxoffice-Kind"]) for m in world["smtp"].messages]
    assert webhooks(world, "resale.") == ["resale.listed", "resale.sold"]
    assert webhooks(world, "waitlist.") == ["waitlist.joined", "waitlist.joined", "waitlist.offered",
                                            "waitlist.accepted"]


def _event_name(world) -> str:
    return world["tenant"].staff.get(f"/events/{world['event']}").get_json()["data"]["name"]


def test_an_offer_that_runs_out_passes_on_once_then_the_listing_goes_on_public_sale(world):
    listing = list_it(world)
    first, second, third = world["first"], world["second"], world["third"]
    first_token = offer_token(world, first, listing["id"])
    (offer,) = offers_on(world, listing["id"])
    assert run_out_and_sweep(world, offer) == 1
    assert [(o.customer_id, o.status) for o in offers_on(world, listing["id"])] == [
        (first.customer_id, "lapsed"), (second.customer_id, "offered")]
    assert entry_of(world, first)["status"] == "lapsed"
    offer_token(world, second, listing["id"])
    lapsed_try = buy(world, first, listing["id"], first_token)
    assert lapsed_try.status_code == 409 and lapsed_try.json()["type"] == "listing_unavailable"
    assert buy(world, third, listing["id"]).json()["type"] == "listing_unavailable"

    assert run_out_and_sweep(world, offers_on(world, listing["id"])[1]) == 1
    assert [o.status for o in offers_on(world, listing["id"])] == ["lapsed", "lapsed"]   # nobody left in line
    assert entry_of(world, second)["status"] == "lapsed"
    public = http(world, third, "GET", f"/client/events/{world['event']}/resale").json()["listings"]
    assert [p["id"] for p in public] == [listing["id"]]
    booking = buy(world, third, listing["id"])   # anyone, without a token
    assert booking.status_code == 201, booking.json()
    sale = pay_and_confirm(world, third, booking.json())
    assert sale["status"] == "sold" and ticket_status(sale["ticketId"]) == "valid"
    assert ticket_status(world["ticket"]["id"]) == "transferred"
    assert [o.status for o in offers_on(world, listing["id"])] == ["lapsed", "lapsed"]   # no offer accepted
    assert len([m for m in waitlist_mails(world, second) if m["Subject"].startswith("Seats")]) == 1   # once
    assert webhooks(world, "waitlist.") == ["waitlist.joined", "waitlist.joined", "waitlist.offered",
                                            "waitlist.lapsed", "waitlist.offered", "waitlist.lapsed"]


def test_a_holder_withdrawing_an_offered_listing_ends_the_offer_and_the_fan_waits_again(world):
    listing = list_it(world)
    first, second = world["first"], world["second"]
    token = offer_token(world, first, listing["id"])
    withdrawn = world["seller"].delete(f"/client/events/tickets/{world['ticket']['id']}/resale")
    assert withdrawn.status_code == 200 and withdrawn.get_json()["status"] == "withdrawn", withdrawn.get_json()
    assert [o.status for o in offers_on(world, listing["id"])] == ["withdrawn"]
    entry = entry_of(world, first)
    assert (entry["status"], entry["position"]) == ("waiting", 1)
    refused = buy(world, first, listing["id"], token)
    assert refused.status_code == 409 and refused.json()["type"] == "listing_unavailable"
    # the sweep finds nothing to lapse or pass: the second in line is never offered a withdrawn listing
    with database.db.connection_context():
        WaitlistOffer.update(expires_at=utcnow() - dt.timedelta(seconds=1)).where(
            (WaitlistOffer.org == world["tenant"].orgid) & (WaitlistOffer.listing_id == listing["id"])).execute()
        assert waitlist_offers.lapse_listing_offers() == 0
    assert [o.status for o in offers_on(world, listing["id"])] == ["withdrawn"]
    assert entry_of(world, second)["status"] == "waiting"
    assert ticket_status(world["ticket"]["id"]) == "valid"   # still the holder's
    told = waitlist_mails(world, first)[-1]
    assert told["Subject"].startswith("The resale ticket offered to you"), told["Subject"]
    assert "You keep your place" in told.get_body(("plain",)).get_content()
    assert webhooks(world, "waitlist.")[-1] == "waitlist.withdrawn"
    assert webhooks(world, "waitlist.").count("waitlist.withdrawn") == 1

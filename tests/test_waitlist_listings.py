"""The waiting list's interface for resale listings (`plugins.resale.waitlist.offer_listing`): a new listing is
reserved for the first in line whose request fits, with a signed link to the listing's checkout; an offer that
runs out passes the listing on exactly once (racing sweepers too); when nobody is left the listing goes public
through `plugins.resale.listings.listing_unreserved`; a sale to the offered customer accepts the offer."""

from __future__ import annotations

import datetime as dt
import sys
import threading
import types
from urllib.parse import parse_qs, urlparse

import pytest
from ticket_factory import issue, make_event

from core import db as database
from core.models import Customer, new_id, utcnow
from plugins.resale import waitlist, waitlist_offers
from plugins.resale.waitlist_models import WaitlistEntry, WaitlistOffer


@pytest.fixture
def line(tenant, monkeypatch):
    """A sold-out type, three customers waiting (2 seats, then 1, then 1), and a stand-in listings module that
    records the listings put on public sale."""
    tenant.enable("resale")
    event, ticket_type = make_event(tenant, capacity=2, price=2500)
    issue(tenant, ticket_type, 2)
    customers = []
    with database.db.connection_context():
        for i, seats in enumerate((2, 1, 1)):
            customer = Customer.create(org=tenant.orgid, email=f"line{i}@example.com", name=f"Line {i}",
                                       password_hash="-")
            waitlist.join(tenant.org, customer.id, event.id, ticket_type.id, seats)
            customers.append(customer.id)
    public: list[str] = []
    listings = types.ModuleType("plugins.resale.listings")
    listings.listing_unreserved = lambda org, listing_id: public.append(listing_id)
    listings.claim_offered = lambda org, listing_id: listing_id not in public
    monkeypatch.setitem(sys.modules, "plugins.resale.listings", listings)
    listing = types.SimpleNamespace(id=new_id(), ticket_type_id=ticket_type.id, event_id=event.id, seats=1)
    return tenant, ticket_type, customers, listing, public


def offers_on(tenant, listing_id: str) -> list[WaitlistOffer]:
    with database.db.connection_context():
        return list(WaitlistOffer.select().where((WaitlistOffer.org == tenant.orgid)
                                                 & (WaitlistOffer.listing_id == listing_id))
                    .order_by(WaitlistOffer.created_at, WaitlistOffer.id))


def run_out(offer: WaitlistOffer) -> None:
    with database.db.connection_context():
        WaitlistOffer.update(expires_at=utcnow() - dt.timedelta(seconds=1)).where(
            WaitlistOffer.id == offer.id).execute()


def test_a_listing_goes_to_the_first_whose_request_fits_with_a_checkout_link(line):
    tenant, ticket_type, customers, listing, public = line
    with database.db.connection_context():
        offer = waitlist.offer_listing(tenant.org, listing)
        assert offer.customer_id == customers[1]   # the 2-seat request waits; the 1-seat one behind it fits
        assert (offer.listing_id, offer.booking_id, offer.seats) == (listing.id, None, 1)
        assert waitlist_offers.reserved_listing_offer(tenant.org, listing.id).id == offer.id
        link = waitlist_offers.listing_offer_link(tenant.orgid, offer)
    url = urlparse(link)
    assert url.path.endswith(f"/resale/{listing.id}")
    token = parse_qs(url.query)["offer"][0]
    with database.db.connection_context():
        assert waitlist_offers.listing_offer(tenant.org, listing.id, token).id == offer.id
        assert waitlist_offers.listing_offer(tenant.org, new_id(), token) is None
        assert waitlist_offers.listing_offer(tenant.org, listing.id, token + "x") is None
        # the customer buys the listing: the resale sale accepts the offer in its transaction
        assert waitlist_offers.listing_sold(tenant.org, listing.id, customers[1]).id == offer.id
        assert waitlist_offers.listing_offer(tenant.org, listing.id, token) is None
        entry = WaitlistEntry.get((WaitlistEntry.org == tenant.orgid) & (WaitlistEntry.customer == customers[1]))
        assert entry.status == "accepted"
    assert public == []


def test_a_lapsed_listing_offer_passes_on_once_then_goes_public(line):
    tenant, ticket_type, customers, listing, public = line
    with database.db.connection_context():
        first = waitlist.offer_listing(tenant.org, listing)
    run_out(first)
    barrier = threading.Barrier(3)
    lapsed = []

    def sweeper():
        with database.db.connection_context():
            barrier.wait()
            lapsed.append(waitlist_offers.lapse_listing_offers())

    threads = [threading.Thread(target=sweeper) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sum(lapsed) == 1
    offers = offers_on(tenant, listing.id)
    assert [(o.customer_id, o.status) for o in offers] == [(customers[1], "lapsed"), (customers[2], "offered")]
    assert public == []

    run_out(offers[1])
    with database.db.connection_context():
        assert waitlist_offers.lapse_listing_offers() == 1
        assert waitlist_offers.lapse_listing_offers() == 0
    assert [o.status for o in offers_on(tenant, listing.id)] == ["lapsed", "lapsed"]
    assert public == [listing.id]   # nobody left whose request fits: on public sale


def test_leaving_with_a_listing_offer_passes_the_listing_on(line):
    tenant, ticket_type, customers, listing, public = line
    with database.db.connection_context():
        offer = waitlist.offer_listing(tenant.org, listing)
        waitlist.leave(tenant.org, customers[1], ticket_type.event_id)
    offers = offers_on(tenant, listing.id)
    assert [(o.customer_id, o.status) for o in offers] == [(offer.customer_id, "withdrawn"),
                                                          (customers[2], "offered")]


def test_nobody_waiting_means_no_offer(tenant):
    tenant.enable("resale")
    event, ticket_type = make_event(tenant, capacity=2, price=2500)
    listing = types.SimpleNamespace(id=new_id(), ticket_type_id=ticket_type.id, seats=1)
    with database.db.connection_context():
        assert waitlist.offer_listing(tenant.org, listing) is None

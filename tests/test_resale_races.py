"""Resale races over real HTTP (threads released together against the live server, the real stripe SDK against
the loopback Stripe fake): a listing sells once, and the door and a paying buyer never both win.
"""

from __future__ import annotations

import requests
from fakes.checks import fake_fixtures
from fakes.stripe_server import FakeStripe
from test_purchase_support import make_event, make_type
from test_races_tickets import storm
from test_resale_listings import booking_of, bought_ticket, decode_png, open_resale, stripe_refunds, use_stripe

from core import db as database
from core.models import Ticket

fake_server, fake = fake_fixtures(FakeStripe)


def caller(live_server, tenant, token: str | None, method: str, path: str, body: dict | None = None):
    headers = {"orgid": tenant.orgid, **({"Authorization": f"Bearer {token}"} if token else {})}
    return lambda: requests.request(method, live_server.url + path, json=body, headers=headers, timeout=60)


def valid_tickets(event_id: str) -> int:
    with database.db.connection_context():
        return Ticket.select().where((Ticket.event == event_id) & (Ticket.status == "valid")).count()


def setup_market(tenant, fake, tickets: int = 1):
    use_stripe(tenant, fake)
    event_id = make_event(tenant)
    tt = make_type(tenant, event_id, price=30, capacity=50, transferable=True)
    open_resale(tenant, event_id, feeFixed=0, feePercentBp=1000)
    seller = tenant.customer()
    owned = [bought_ticket(tenant, fake, seller, event_id, tt) for _ in range(tickets)]
    listed = [seller.post(f"/client/events/tickets/{t['id']}/resale", json={"price": 3000}).get_json()
              for t in owned]
    return event_id, seller, owned, listed


def test_many_buyers_at_once_reserve_a_listing_once_and_it_sells_once(live_server, tenant, fake):
    event_id, seller, (ticket,), (listing,) = setup_market(tenant, fake)
    buyers = [tenant.customer() for _ in range(8)]
    intents_before = len(fake.intents)
    path = f"/client/events/{event_id}/resale/{listing['id']}/purchase"
    responses = storm([caller(live_server, tenant, b.token, "POST", path, {"paymentGateway": "stripe"})
                       for b in buyers])
    assert sorted(r.status_code for r in responses) == [201] + [409] * 7
    assert {r.json()["type"] for r in responses if r.status_code == 409} == {"listing_unavailable"}
    assert len(fake.intents) == intents_before + 1   # the refused buyers were never asked to pay
    winner_index = next(i for i, r in enumerate(responses) if r.status_code == 201)
    winner, booking = buyers[winner_index], responses[winner_index].json()
    fake.pay(booking["paymentRef"])
    confirm = f"/client/events/resale/sales/{booking['bookingId']}/confirm"
    results = storm([caller(live_server, tenant, winner.token, "POST", confirm) for _ in range(4)]
                    + [caller(live_server, tenant, winner.token, "POST", "/client/events/tickets/confirm-order",
                              {"bookingId": booking["bookingId"], "paymentGateway": "stripe"}) for _ in range(2)])
    assert all(r.status_code == 200 for r in results), [r.json() for r in results]
    sales = [r.json() for r in results[:4]]
    assert {(s["status"], s["ticketId"]) for s in sales} == {("sold", sales[0]["ticketId"])}
    assert valid_tickets(event_id) == 1   # the buyer's; the seller's was revoked, nothing doubled
    assert [r["amount"] for r in stripe_refunds(fake, booking_of(ticket["id"]).payment_ref)] == [2700]
    assert stripe_refunds(fake, booking["paymentRef"]) == []


def test_the_door_and_a_paying_buyer_never_both_win(live_server, tenant, fake):
    event_id, seller, owned, listed = setup_market(tenant, fake, tickets=6)
    outcomes = []
    for ticket, listing in zip(owned, listed, strict=True):
        qr = decode_png(seller.get(f"/client/events/tickets/{ticket['id']}/qr").data)
        buyer = tenant.customer()
        booking = buyer.post(f"/client/events/{event_id}/resale/{listing['id']}/purchase",
                             json={"paymentGateway": "stripe"}).get_json()
        fake.pay(booking["paymentRef"])
        scan, sale = storm([
            caller(live_server, tenant, tenant.staff_token, "POST", "/events/check-in", {"qrPayload": qr}),
            caller(live_server, tenant, buyer.token, "POST",
                   f"/client/events/resale/sales/{booking['bookingId']}/confirm"),
        ])
        assert sale.status_code == 200, sale.json()
        seller_refunds = stripe_refunds(fake, booking_of(ticket["id"]).payment_ref)
        buyer_refunds = stripe_refunds(fake, booking["paymentRef"])
        if sale.json()["status"] == "sold":   # the sale won: the old QR is refused, the seller paid back
            assert scan.status_code == 409 and scan.json()["type"] == "ticket_revoked", scan.json()
            assert [r["amount"] for r in seller_refunds] == [2700] and buyer_refunds == []
            new_ticket = buyer.get(f"/client/events/tickets/{sale.json()['ticketId']}").get_json()
            assert new_ticket["status"] == "valid"
        else:   # the door won: admitted, the sale refused and the buyer's whole payment refunded
            assert scan.status_code == 200 and scan.json()["admitted"] is True, scan.json()
            assert sale.json()["status"] == "refused" and sale.json()["ticketId"] is None
            assert [r["amount"] for r in buyer_refunds] == [3000] and seller_refunds == []
            assert buyer.get("/client/events/tickets/mine").get_json()["tickets"] == []
        outcomes.append(sale.json()["status"])
    # one seat per listed ticket, whoever won: a valid buyer's ticket or a checked-in seller's, never both
    with database.db.connection_context():
        live = Ticket.select().where((Ticket.event == event_id) & Ticket.status.in_(("valid", "checked_in"))).count()
    assert live == len(owned)
    assert set(outcomes) <= {"sold", "refused"}

"""Face-value resale (the `resale` plugin's listings): staff terms, listing rules, the sale's money path against
the real stripe SDK and the loopback Stripe fake, the door winning against a paying buyer, the staff report.

Every test runs on SQLite and PostgreSQL; the races against a real server are in `test_resale_races.py`.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import secrets

import pytest
import zxingcpp
from fakes.checks import enable_gateway, fake_fixtures
from fakes.stripe_server import FakeStripe
from PIL import Image
from smtp_server import HttpReceiver, SmtpServer
from test_purchase_support import make_event, make_type

from core import db as database
from core.models import Booking, OutboxEntry, Refund, Ticket

fake_server, fake = fake_fixtures(FakeStripe)

PURCHASE = "/client/events/tickets/purchase"


def decode_png(png: bytes) -> str:
    """The text of the one QR code in a PNG, read by zxing-cpp (which may report one code twice: one text)."""
    texts = {result.text for result in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))}
    assert len(texts) == 1, texts
    return texts.pop()


def use_stripe(tenant, fake) -> None:
    """Enable Stripe (against the fake) and the resale plugin for `tenant`."""
    enable_gateway(tenant, "stripe", {"secret_key": "sk_test_" + secrets.token_hex(12),
                                      "publishable_key": "pk_test_" + secrets.token_hex(8),
                                      "webhook_secret": "whsec_" + secrets.token_hex(16),
                                      "api_base": fake.url, "timeout": "2"}, {})
    tenant.enable("resale")


def open_resale(tenant, event_id, **terms) -> dict:
    body = {"enabled": True, **terms}
    response = tenant.staff.put(f"/events/{event_id}/resale/settings", json=body)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def bought_ticket(tenant, fake, customer, event_id, tt) -> dict:
    """`customer` buys one ticket of `tt` with Stripe (paid at the fake, confirmed); returns the ticket."""
    response = customer.post(PURCHASE, json={"eventId": event_id, "items": [{"ticketTypeId": tt, "quantity": 1}],
                                             "paymentGateway": "stripe"})
    assert response.status_code == 201, response.get_json()
    booking = response.get_json()
    fake.pay(booking["paymentRef"])
    confirmed = customer.post("/client/events/tickets/confirm-order",
                              json={"bookingId": booking["bookingId"], "paymentGateway": "stripe"})
    assert confirmed.status_code == 200, confirmed.get_json()
    return confirmed.get_json()["tickets"][0]


@pytest.fixture
def market(tenant, fake):
    """An event with a transferable 50.00 type, resale open (fee 1.00 + 5 %), a seller holding a paid ticket."""
    use_stripe(tenant, fake)
    event_id = make_event(tenant)
    tt = make_type(tenant, event_id, price=50, capacity=10, transferable=True)
    open_resale(tenant, event_id, feeFixed=100, feePercentBp=500)
    seller = tenant.customer(name="Sam Seller")
    ticket = bought_ticket(tenant, fake, seller, event_id, tt)
    return {"tenant": tenant, "event": event_id, "type": tt, "seller": seller, "ticket": ticket}


def list_ticket(market, price=4000):
    return market["seller"].post(f"/client/events/tickets/{market['ticket']['id']}/resale", json={"price": price})


def buy(market, customer, listing_id):
    return customer.post(f"/client/events/{market['event']}/resale/{listing_id}/purchase",
                         json={"paymentGateway": "stripe"})


def scan(tenant, ticket_id):
    return tenant.staff.post(f"/events/check-in/{ticket_id}", json={})


def stripe_refunds(fake, intent_id=None) -> list[dict]:
    return [r for r in fake.refunds.values() if intent_id is None or r["payment_intent"] == intent_id]


def booking_of(ticket_id) -> Booking:
    with database.db.connection_context():
        return Booking.get_by_id(Ticket.get_by_id(ticket_id).booking_id)


def test_staff_terms_default_off_and_are_audited(market):
    tenant, event_id = market["tenant"], market["event"]
    other = make_event(tenant)
    assert tenant.staff.get(f"/events/{other}/resale/settings").get_json() == {
        "eventId": other, "enabled": False, "priceCap": None, "feeFixed": 0, "feePercentBp": 0, "allowComps": False}
    changed = open_resale(tenant, event_id, priceCap=4500)
    assert changed["priceCap"] == 4500 and changed["feeFixed"] == 100 and changed["feePercentBp"] == 500
    assert open_resale(tenant, event_id, priceCap=None)["priceCap"] is None
    bad = tenant.staff.put(f"/events/{event_id}/resale/settings", json={"feePercentBp": 10001})
    assert bad.status_code == 422 and bad.get_json()["type"] == "validation_error"
    customer = market["seller"]
    assert customer.put(f"/events/{event_id}/resale/settings", json={"enabled": False}).status_code == 403
    actions = [e["action"] for e in tenant.staff.get("/org/audit?action=resale.terms_changed").get_json()["data"]]
    assert len(actions) >= 3


def test_a_listing_is_reserved_by_the_first_buyer_until_paid(market, fake):
    tenant, seller = market["tenant"], market["seller"]
    old_ticket = market["ticket"]
    too_dear = list_ticket(market, price=5001)
    assert too_dear.status_code == 422 and too_dear.get_json()["type"] == "price_above_cap"
    assert too_dear.get_json()["cap"] == 5000
    listed = list_ticket(market, price=4000)
    assert listed.status_code == 201, listed.get_json()
    listing = listed.get_json()
    assert (listing["status"], listing["price"], listing["fee"], listing["sellerAmount"]) == ("listed", 4000, 300, 3700)
    assert list_ticket(market).get_json()["type"] == "already_listed"
    shown = tenant.guest.get(f"/client/events/{market['event']}/resale").get_json()["listings"]
    assert [item["id"] for item in shown] == [listing["id"]] and "fee" not in shown[0]

    buyer, late = tenant.customer(name="Bea Buyer"), tenant.customer(name="Lee Late")
    own = buy(market, seller, listing["id"])
    assert own.status_code == 422 and own.get_json()["type"] == "own_listing"
    started = buy(market, buyer, listing["id"])
    assert started.status_code == 201, started.get_json()
    booking = started.get_json()
    assert booking["amount"] == 4000 and booking["status"] == "pending"
    refused = buy(market, late, listing["id"])   # reserved while the first buyer pays: nothing charged
    assert refused.status_code == 409 and refused.get_json()["type"] == "listing_unavailable"
    assert tenant.guest.get(f"/client/events/{market['event']}/resale").get_json()["listings"] == []
    assert seller.delete(f"/client/events/tickets/{old_ticket['id']}/resale").get_json()["type"] == "listing_reserved"

    unpaid = buyer.post(f"/client/events/resale/sales/{booking['bookingId']}/confirm")
    assert unpaid.status_code == 402


def test_sale_after_payment(market, fake):
    tenant, seller = market["tenant"], market["seller"]
    old_ticket = market["ticket"]
    old_qr = decode_png(seller.get(f"/client/events/tickets/{old_ticket['id']}/qr").data)
    listing = list_ticket(market).get_json()
    buyer = tenant.customer(name="Bea Buyer")
    booking = buy(market, buyer, listing["id"]).get_json()
    fake.pay(booking["paymentRef"])
    sold = buyer.post(f"/client/events/resale/sales/{booking['bookingId']}/confirm")
    assert sold.status_code == 200, sold.get_json()
    sale = sold.get_json()
    assert sale["status"] == "sold" and sale["ticketId"]
    again = buyer.post(f"/client/events/resale/sales/{booking['bookingId']}/confirm").get_json()
    assert again == sale   # a repeat changes nothing

    old_scan = tenant.staff.post("/events/check-in", json={"qrPayload": old_qr})   # the seller's QR is refused at once
    assert old_scan.status_code == 409 and old_scan.get_json()["type"] == "ticket_revoked", old_scan.get_json()
    mine = buyer.get("/client/events/tickets/mine").get_json()["tickets"]
    assert [t["id"] for t in mine] == [sale["ticketId"]]
    new_qr = decode_png(buyer.get(f"/client/events/tickets/{sale['ticketId']}/qr").data)
    admitted = tenant.staff.post("/events/check-in", json={"qrPayload": new_qr})
    assert admitted.status_code == 200 and admitted.get_json()["admitted"] is True

    seller_booking = booking_of(old_ticket["id"])
    refunds = stripe_refunds(fake, seller_booking.payment_ref)
    assert [r["amount"] for r in refunds] == [3700]   # the price minus the fee, through the original payment
    assert seller_booking.refunded_amount == 3700 and seller_booking.status == "partially_refunded"
    assert stripe_refunds(fake, booking["paymentRef"]) == []   # the buyer keeps paying: nothing back
    assert seller.get(f"/client/events/tickets/{old_ticket['id']}/resale").get_json()["status"] == "sold"

    report = tenant.staff.get(f"/events/{market['event']}/resale").get_json()
    assert report["totals"] == {"listings": 1, "live": 0, "sold": 1, "withdrawn": 0, "sales": 4000, "fees": 300,
                                "sellerRefunded": 3700, "payoutPending": 0, "refusedPurchases": 0}
    row = report["listings"][0]
    assert (row["buyerTicketId"], row["sellerRefundStatus"], row["sellerRefunded"]) == (sale["ticketId"],
                                                                                       "succeeded", 3700)
    exported = tenant.staff.get(f"/events/{market['event']}/resale", headers={"Accept": "text/csv"})
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(exported.get_data(as_text=True))))
    assert [(r["listing_id"], r["status"], r["seller_refunded"], r["fee"]) for r in rows] == [
        (listing["id"], "sold", "3700", "300")]


def test_a_refund_outage_is_retried_from_the_outbox_until_done(market, fake):
    tenant = market["tenant"]
    listing = list_ticket(market).get_json()
    buyer = tenant.customer()
    booking = buy(market, buyer, listing["id"]).get_json()
    fake.pay(booking["paymentRef"])
    fake.refund_mode = "5xx"   # Stripe fails in the middle: after the capture, on the seller's refund
    sold = buyer.post(f"/client/events/resale/sales/{booking['bookingId']}/confirm").get_json()
    assert sold["status"] == "sold"
    seller_booking = booking_of(market["ticket"]["id"])
    assert stripe_refunds(fake, seller_booking.payment_ref) == []
    with database.db.connection_context():
        refund = Refund.get(Refund.booking == seller_booking.id)
        assert refund.status == "pending" and refund.amount == 3700
        entry = OutboxEntry.get(OutboxEntry.name.endswith("pay_refund_job") & OutboxEntry.done_at.is_null())
        assert entry.attempts == 1 and "GatewayUnavailable: stripe did not answer" in entry.last_error
    report = tenant.staff.get(f"/events/{market['event']}/resale").get_json()["totals"]
    assert (report["sellerRefunded"], report["payoutPending"]) == (0, 3700)
    fake.refund_mode = "ok"
    from core.outbox import run_entry

    for _ in range(2):   # the retry, then a duplicate delivery of it: money moves once
        with database.db.connection_context():
            OutboxEntry.update(due_at=dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(seconds=5),
                               leased_until=None).where(OutboxEntry.id == entry.id).execute()
            run_entry(entry.id)
    assert [r["amount"] for r in stripe_refunds(fake, seller_booking.payment_ref)] == [3700]
    with database.db.connection_context():
        assert Refund.get_by_id(refund.id).status == "succeeded"
        assert Booking.get_by_id(seller_booking.id).refunded_amount == 3700
        assert Ticket.select().where(Ticket.event == market["event"], Ticket.status == "valid").count() == 1


def test_a_scanned_listing_is_withdrawn_and_a_paying_buyer_refunded(market, fake):
    tenant = market["tenant"]
    listing = list_ticket(market).get_json()
    buyer = tenant.customer()
    booking = buy(market, buyer, listing["id"]).get_json()
    admitted = scan(tenant, market["ticket"]["id"])   # the holder walks in while the buyer pays
    assert admitted.status_code == 200 and admitted.get_json()["admitted"] is True
    state = market["seller"].get(f"/client/events/tickets/{market['ticket']['id']}/resale").get_json()
    assert (state["status"], state["endedReason"]) == ("withdrawn", "checked_in")
    fake.pay(booking["paymentRef"])
    refused = buyer.post(f"/client/events/resale/sales/{booking['bookingId']}/confirm").get_json()
    assert (refused["status"], refused["reason"], refused["ticketId"]) == ("refused", "checked_in", None)
    assert [r["amount"] for r in stripe_refunds(fake, booking["paymentRef"])] == [4000]   # all of it back
    assert stripe_refunds(fake, booking_of(market["ticket"]["id"]).payment_ref) == []
    assert buyer.get("/client/events/tickets/mine").get_json()["tickets"] == []
    with database.db.connection_context():
        assert Ticket.get_by_id(market["ticket"]["id"]).status == "checked_in"
    again = buy(market, tenant.customer(), listing["id"])
    assert again.status_code == 409 and again.get_json()["type"] == "listing_unavailable"
    report = tenant.staff.get(f"/events/{market['event']}/resale").get_json()["totals"]
    assert (report["sold"], report["withdrawn"], report["refusedPurchases"]) == (0, 1, 1)


def test_listing_refusals(market, fake):
    tenant, seller = market["tenant"], market["seller"]
    stranger = tenant.customer()
    foreign = stranger.post(f"/client/events/tickets/{market['ticket']['id']}/resale", json={"price": 100})
    assert foreign.status_code == 404 and foreign.get_json()["type"] == "ticket_not_found"
    bad = seller.post(f"/client/events/tickets/{market['ticket']['id']}/resale", json={"price": -1})
    assert bad.status_code == 422
    never = seller.get(f"/client/events/tickets/{market['ticket']['id']}/resale")
    assert never.status_code == 404 and never.get_json()["type"] == "listing_not_found"

    locked_type = make_type(tenant, market["event"], price=50, capacity=5, transferable=False)
    locked = bought_ticket(tenant, fake, seller, market["event"], locked_type)
    refusal = seller.post(f"/client/events/tickets/{locked['id']}/resale", json={"price": 100}).get_json()
    assert refusal["type"] == "not_transferable"

    scanned = bought_ticket(tenant, fake, seller, market["event"], market["type"])
    scan(tenant, scanned["id"])
    assert seller.post(f"/client/events/tickets/{scanned['id']}/resale",
                       json={"price": 100}).get_json()["type"] == "already_checked_in"

    refunded = bought_ticket(tenant, fake, seller, market["event"], market["type"])
    assert tenant.staff.post(f"/events/tickets/{refunded['id']}/refund", json={}).status_code in (200, 201)
    assert seller.post(f"/client/events/tickets/{refunded['id']}/resale",
                       json={"price": 100}).get_json()["type"] == "ticket_refunded"

    open_resale(tenant, market["event"], enabled=False)
    closed = list_ticket(market)
    assert closed.status_code == 409 and closed.get_json()["type"] == "resale_not_enabled"


def test_withdraw_and_relist(market, fake):
    seller, ticket_id = market["seller"], market["ticket"]["id"]
    listing = list_ticket(market, price=1000).get_json()
    gone = seller.delete(f"/client/events/tickets/{ticket_id}/resale")
    assert gone.status_code == 200 and (gone.get_json()["status"], gone.get_json()["endedReason"]) == (
        "withdrawn", "holder")
    assert seller.delete(f"/client/events/tickets/{ticket_id}/resale").get_json()["type"] == "listing_not_live"
    assert buy(market, market["tenant"].customer(), listing["id"]).get_json()["type"] == "listing_unavailable"
    again = list_ticket(market, price=2000)
    assert again.status_code == 201 and again.get_json()["id"] != listing["id"]
    tenant, on_sale = market["tenant"], f"/client/events/{market['event']}/resale"
    assert [item["id"] for item in tenant.guest.get(on_sale).get_json()["listings"]] == [again.get_json()["id"]]
    open_resale(tenant, market["event"], enabled=False)   # closed: nothing shown, nothing sold
    assert tenant.guest.get(on_sale).get_json()["listings"] == []
    closed = buy(market, tenant.customer(), again.get_json()["id"])
    assert closed.status_code == 409 and closed.get_json()["type"] == "resale_not_enabled"


def test_comp_tickets_bring_the_seller_nothing(market, fake):
    tenant, event_id = market["tenant"], market["event"]
    holder = tenant.customer(name="Cam Comp")
    issued = tenant.staff.post("/events/tickets/comp", json={"eventId": event_id, "ticketTypeId": market["type"],
                                                             "holders": [{"email": holder.email, "name": "Cam"}]})
    assert issued.status_code in (200, 201), issued.get_json()
    comp_id = issued.get_json()["tickets"][0]["id"]
    with database.db.connection_context():
        Ticket.update(customer=holder.customer_id).where(Ticket.id == comp_id).execute()
    refused = holder.post(f"/client/events/tickets/{comp_id}/resale", json={"price": 1000})
    assert refused.status_code == 409 and refused.get_json()["type"] == "comp_not_listable"
    open_resale(tenant, event_id, allowComps=True)
    listing = holder.post(f"/client/events/tickets/{comp_id}/resale", json={"price": 5000}).get_json()
    assert (listing["origin"], listing["sellerAmount"]) == ("comp", 0)
    buyer = tenant.customer()
    booking = buy(market, buyer, listing["id"]).get_json()
    fake.pay(booking["paymentRef"])
    assert buyer.post(f"/client/events/resale/sales/{booking['bookingId']}/confirm").get_json()["status"] == "sold"
    report = tenant.staff.get(f"/events/{event_id}/resale").get_json()
    sold = [row for row in report["listings"] if row["id"] == listing["id"]][0]
    assert (sold["sellerRefundId"], sold["sellerRefunded"]) == (None, 0)


def test_another_tenant_sees_nothing(market, other_tenant):
    other_tenant.enable("resale")
    listing = list_ticket(market).get_json()
    assert other_tenant.staff.get(f"/events/{market['event']}/resale").status_code == 404
    outsider = other_tenant.customer()
    response = outsider.post(f"/client/events/{market['event']}/resale/{listing['id']}/purchase", json={})
    assert response.status_code == 404
    assert other_tenant.guest.get(f"/client/events/{market['event']}/resale").status_code == 404


@pytest.fixture
def smtp():
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def receiver():
    server = HttpReceiver().start()
    yield server
    server.stop()


def test_each_state_change_sends_an_email_and_a_webhook(market, fake, smtp, receiver, config, monkeypatch):
    tenant = market["tenant"]
    monkeypatch.setattr(config, "webhooks_allow_private", True)   # the loopback receiver
    tenant.enable("notifications")
    tenant.configure("notifications", smtp_host="127.0.0.1", smtp_port=str(smtp.port),
                     sender="Tenant A Tickets <tickets@tenant-a.test>")
    tenant.enable("automation")
    types = ["resale.listed", "resale.withdrawn", "resale.sold"]
    endpoint = tenant.staff.post("/automation/endpoints", json={"url": receiver.url, "eventTypes": types})
    assert endpoint.status_code == 201
    seller, ticket_id = market["seller"], market["ticket"]["id"]
    first = list_ticket(market, price=3000).get_json()
    seller.delete(f"/client/events/tickets/{ticket_id}/resale")
    listing = list_ticket(market, price=4000).get_json()
    buyer = tenant.customer(name="Bea Buyer")
    booking = buy(market, buyer, listing["id"]).get_json()
    fake.pay(booking["paymentRef"])
    sale = buyer.post(f"/client/events/resale/sales/{booking['bookingId']}/confirm").get_json()

    mails = [m for m in smtp.event_messages if m["To"] == seller.email]
    kinds = [m["X-Boxoffice-Kind"] for m in mails]
    assert kinds[-4:] == ["resale_listed", "resale_withdrawn", "resale_listed", "resale_sold"]
    sold_text = mails[-1].get_body(("plain",)).get_content()
    assert "was sold for 40.00 USD" in sold_text and "37.00 USD is on its way back" in sold_text
    assert "you withdrew it" in mails[-3].get_body(("plain",)).get_content()
    to_buyer = [m for m in smtp.event_messages if m["To"] == buyer.email]
    assert [m["X-Boxoffice-Kind"] for m in to_buyer] == ["tickets_issued"]   # the new ticket, its QR inline
    assert sale["ticketId"] in to_buyer[0].get_body(("plain",)).get_content()

    events = [r.json() for r in receiver.received]
    assert [(e["type"], e["data"]["listing"]["id"]) for e in events] == [
        ("resale.listed", first["id"]), ("resale.withdrawn", first["id"]), ("resale.listed", listing["id"]),
        ("resale.sold", listing["id"])]
    assert events[-1]["data"]["listing"]["buyerTicketId"] == sale["ticketId"]
    assert events[-1]["data"]["listing"]["sellerAmount"] == 3700


def test_a_sale_whose_side_effects_never_reached_the_queue_is_finished_by_the_sweep(market, fake, monkeypatch):
    """The process dies right after the sale commits, before the job queue got its work (the queue is down):
    the seller's refund waits in the outbox and the sweep pays it, once."""
    from core import outbox

    tenant = market["tenant"]
    listing = list_ticket(market).get_json()
    buyer = tenant.customer()
    booking = buy(market, buyer, listing["id"]).get_json()
    fake.pay(booking["paymentRef"])

    def queue_down(*args):
        raise ConnectionError("the queue is down")

    monkeypatch.setattr(outbox, "hand_to_queue", queue_down)
    assert buyer.post(f"/client/events/resale/sales/{booking['bookingId']}/confirm").get_json()["status"] == "sold"
    seller_booking = booking_of(market["ticket"]["id"])
    assert stripe_refunds(fake, seller_booking.payment_ref) == []
    monkeypatch.undo()
    later = dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(minutes=5)
    with database.db.connection_context():
        assert outbox.sweep(later) >= 1
        assert OutboxEntry.select().where((OutboxEntry.org_id == tenant.orgid)
                                          & OutboxEntry.done_at.is_null()).count() == 0
    assert [r["amount"] for r in stripe_refunds(fake, seller_booking.payment_ref)] == [3700]
    with database.db.connection_context():
        assert Booking.get_by_id(seller_booking.id).refunded_amount == 3700
        assert Ticket.select().where(Ticket.event == market["event"], Ticket.status == "valid").count() == 1

"""Bulk refund completed (issue 15): store credit granted by a bulk refund and spent at checkout before any
gateway (fully covered: no gateway; partly: the Stripe loopback fake charges the rest), refused once expired,
given back when the paying booking expires; `void_tickets: false` keeps tickets valid and never refunds twice;
`send_email` delivers the staff's text to each buyer at the loopback SMTP server. All over HTTP."""

from __future__ import annotations

import datetime as dt

from fakes.stripe_server import FakeStripe
from test_events import in_db
from test_notifications import smtp  # noqa: F401 - the loopback SMTP server fixture
from test_purchase_support import age_booking, iso, make_event, make_type
from test_stripe import fake_fixtures, use_stripe

from core.models import Refund, StoreCredit, StoreCreditDebit, Ticket

fake_server, fake = fake_fixtures(FakeStripe)
PURCHASE = "/client/events/tickets/purchase"


def box_office_sale(tenant, event_id: str, tt: str, quantity: int, email: str, name: str = "Fan") -> dict:
    """A paid box-office sale to `email` (offline gateway, marked paid): the confirmed booking."""
    sold = tenant.staff.post("/events/tickets/purchase", json={
        "eventId": event_id, "items": [{"ticketTypeId": tt, "quantity": quantity}], "email": email, "name": name})
    assert sold.status_code == 201, sold.get_json()
    paid = tenant.staff.post(f"/events/bookings/{sold.get_json()['bookingId']}/mark-paid", json={"reference": "till"})
    assert paid.status_code == 200 and paid.get_json()["status"] == "confirmed", paid.get_json()
    return paid.get_json()


def bulk_refund(tenant, event_id: str, **options) -> dict:
    """Run a bulk refund (inline in tests); the finished job as its status route shows it."""
    started = tenant.staff.patch(f"/events/{event_id}/refund", json={"refund": options})
    assert started.status_code == 202, started.get_json()
    job = tenant.staff.get(f"/events/{event_id}/sync_jobs/{started.headers['X-Event-Sync-Job-ID']}").get_json()
    assert job["data"]["status"] == "succeeded", job
    return job["data"]


def credit_of(client) -> dict:
    answer = client.get("/client/account/credit")
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()["data"]


def available(client, currency: str = "USD") -> int:
    return {b["currency"]: b["available"] for b in credit_of(client)["balances"]}.get(currency, 0)


def buy(client, event_id: str, tt: str, quantity: int, **extra):
    return client.post(PURCHASE, json={"eventId": event_id, "items": [{"ticketTypeId": tt, "quantity": quantity}],
                                       **extra})


def paid_with_stripe(fan, fake, event_id: str, tt: str, quantity: int) -> dict:
    """The fan's own purchase, paid through the Stripe fake and confirmed."""
    pending = buy(fan, event_id, tt, quantity, paymentGateway="stripe").get_json()
    fake.pay(pending["paymentRef"])
    confirmed = fan.post("/client/events/tickets/confirm-order", json={"bookingId": pending["bookingId"],
                                                                        "paymentGateway": "stripe"})
    assert confirmed.status_code == 200 and confirmed.get_json()["status"] == "confirmed", confirmed.get_json()
    return confirmed.get_json()


def granted(tenant, fan, fake, price: str = "25.00", quantity: int = 2, **refund) -> tuple[dict, str]:
    """The fan's paid purchase refunded as store credit: (the job, the event id)."""
    event_id = make_event(tenant, name="Rained off")
    tt = make_type(tenant, event_id, price=price, capacity=20)
    paid_with_stripe(fan, fake, event_id, tt, quantity)
    fake.reset()
    return bulk_refund(tenant, event_id, refund_method="store_credit", **refund), event_id


def test_store_credit_is_granted_by_a_bulk_refund_and_spent_in_full_then_in_part_with_stripe(tenant, fake):
    use_stripe(tenant, fake)
    fan = tenant.customer()
    expiry = iso(dt.timedelta(days=60))
    job, old_event = granted(tenant, fan, fake, expiration_date=expiry, note="storm damage")
    result = job["result"]
    assert (result["refunded"], result["store_credit_amount"], result["refunded_amount"]) == (2, 5000, 5000)
    [record] = result["refunds"]
    assert (record["method"], record["amount"], record["tickets_voided"]) == ("store_credit", 5000, True)
    assert record["credit_expires_at"] == expiry and record["store_credit_id"]

    refunds = tenant.staff.get("/events/refunds").get_json()["data"]
    [refund] = [r for r in refunds if r["id"] == record["refund_id"]]
    assert (refund["method"], refund["gateway"], refund["status"], refund["reason"]) == \
        ("store_credit", "store_credit", "succeeded", "storm damage")
    assert (refund["storeCreditId"], refund["creditExpiresAt"], refund["ticketsVoided"]) == \
        (record["store_credit_id"], expiry, True)
    tickets = tenant.staff.get(f"/events/{old_event}/tickets").get_json()["data"]
    assert {t["status"] for t in tickets} == {"refunded"}

    account = credit_of(fan)
    assert account["balances"] == [{"currency": "USD", "available": 5000}]
    [credit] = account["credits"]
    assert (credit["id"], credit["amount"], credit["remaining"], credit["expiresAt"], credit["expired"]) == \
        (record["store_credit_id"], 5000, 5000, expiry, False)
    assert credit["refundId"] == record["refund_id"] and "note" not in credit

    event_id = make_event(tenant, name="Rescheduled")
    tt = make_type(tenant, event_id, price="20.00", capacity=20)
    without = buy(fan, event_id, tt, 1, paymentGateway="stripe")  # credit is never spent unasked
    assert without.get_json()["amount"] == 2000 and without.get_json()["status"] == "pending"
    assert available(fan) == 5000
    fake.reset()

    covered = buy(fan, event_id, tt, 1, useStoreCredit=True, paymentGateway="stripe")
    body = covered.get_json()
    assert covered.status_code == 201, body
    assert (body["status"], body["amount"], body["paymentGateway"], len(body["tickets"])) == \
        ("confirmed", 0, "free", 1)
    assert [(line["kind"], line["total"]) for line in body["lines"] if line["kind"] != "ticket"] == \
        [("store_credit", -2000)]
    assert fake.requests == []  # fully covered: no gateway was called (the bulk refund called none either)
    assert available(fan) == 3000

    partial = buy(fan, event_id, tt, 2, useStoreCredit=True, paymentGateway="stripe")
    body = partial.get_json()
    assert (body["status"], body["amount"], body["paymentGateway"]) == ("pending", 1000, "stripe"), body
    [call] = fake.calls("POST", "/v1/payment_intents")
    assert call.form["amount"] == "1000"  # the gateway charges only the rest
    assert available(fan) == 0  # held by the pending booking
    fake.pay(body["paymentRef"])
    confirmed = fan.post("/client/events/tickets/confirm-order", json={"bookingId": body["bookingId"],
                                                                        "paymentGateway": "stripe"})
    assert confirmed.status_code == 200 and confirmed.get_json()["status"] == "confirmed", confirmed.get_json()
    assert len(confirmed.get_json()["tickets"]) == 2
    assert available(fan) == 0 and credit_of(fan)["credits"][0]["remaining"] == 0
    statuses = in_db(lambda: sorted(d.status for d in StoreCreditDebit.select()
                                    .where(StoreCreditDebit.credit == record["store_credit_id"])))
    assert statuses == ["spent", "spent"]

    none_left = buy(fan, event_id, tt, 1, useStoreCredit=True, paymentGateway="stripe")
    assert (none_left.status_code, none_left.get_json()["type"]) == (422, "no_store_credit")
    assert "useStoreCredit" in none_left.get_json()["errors"]


def test_credit_comes_back_when_the_paying_booking_expires_and_is_refused_once_expired(tenant, fake):
    use_stripe(tenant, fake)
    fan = tenant.customer()
    job, _ = granted(tenant, fan, fake, price="10.00", quantity=1, expiration_date=iso(dt.timedelta(days=5)))
    credit_id = job["result"]["refunds"][0]["store_credit_id"]
    event_id = make_event(tenant, name="Later")
    tt = make_type(tenant, event_id, price="15.00", capacity=20)

    pending = buy(fan, event_id, tt, 1, useStoreCredit=True, paymentGateway="stripe").get_json()
    assert (pending["status"], pending["amount"]) == ("pending", 500)
    assert available(fan) == 0
    age_booking(pending["bookingId"])
    mine = fan.get("/client/events/booking").get_json()["bookings"]  # the read that expires overdue holds
    assert {b["id"]: b["status"] for b in mine}[pending["bookingId"]] == "expired"
    assert available(fan) == 1000  # given back once
    assert fan.get("/client/events/booking").status_code == 200 and available(fan) == 1000

    passed = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(minutes=1)  # as if 5 days went by
    in_db(lambda: StoreCredit.update(expires_at=passed).where(StoreCredit.id == credit_id).execute())
    account = credit_of(fan)
    assert account["balances"] == [] and account["credits"][0]["expired"] is True
    refused = buy(fan, event_id, tt, 1, useStoreCredit=True, paymentGateway="stripe")
    assert (refused.status_code, refused.get_json()["type"]) == (422, "store_credit_expired")
    guest = tenant.guest.post(PURCHASE, json={"eventId": event_id, "items": [{"ticketTypeId": tt, "quantity": 1}],
                                              "email": "g@example.com", "name": "G", "useStoreCredit": True})
    assert (guest.status_code, guest.get_json()["type"]) == (422, "store_credit_requires_account")
    assert in_db(lambda: StoreCredit.get_by_id(credit_id).remaining) == 1000


def test_only_the_buying_account_is_credited_and_another_tenant_never_sees_or_spends_it(tenant, other_tenant, fake):
    use_stripe(tenant, fake)
    fan = tenant.customer()
    event_id = make_event(tenant, name="Split")
    tt = make_type(tenant, event_id, price="30.00", capacity=20)
    paid_with_stripe(fan, fake, event_id, tt, 1)
    walk_in = box_office_sale(tenant, event_id, tt, 1, fan.email)  # the fan's e-mail, but no account: a guest's
    job = bulk_refund(tenant, event_id, refund_method="store_credit")
    assert (job["result"]["refunded"], job["result"]["failed"]) == (1, 1)
    [failure] = job["result"]["failures"]
    assert (failure["type"], failure["booking_id"]) == ("no_customer_account", walk_in["bookingId"])
    assert in_db(lambda: Ticket.get_by_id(walk_in["tickets"][0]["id"]).status) == "valid"
    assert available(fan) == 3000 and credit_of(fan)["credits"][0]["expiresAt"] is None
    stranger = other_tenant.customer(email=fan.email)
    assert credit_of(stranger) == {"balances": [], "credits": []}
    theirs = make_event(other_tenant, name="Theirs")
    their_tt = make_type(other_tenant, theirs, price="5.00", capacity=5)
    refused = buy(stranger, theirs, their_tt, 1, useStoreCredit=True)
    assert (refused.status_code, refused.get_json()["type"]) == (422, "no_store_credit")
    assert tenant.staff.get("/client/account/credit").status_code == 403


def test_void_tickets_false_refunds_but_keeps_tickets_valid_and_never_twice(tenant):
    event_id = make_event(tenant, name="Kept")
    tt = make_type(tenant, event_id, price="12.00", capacity=20)
    booking = box_office_sale(tenant, event_id, tt, 2, "kept@example.com")
    job = bulk_refund(tenant, event_id, void_tickets=False, note="goodwill")
    result = job["result"]
    assert (result["refunded"], result["tickets_kept_valid"], result["refunded_amount"]) == (2, 2, 2400)
    [record] = result["refunds"]
    assert (record["method"], record["tickets_voided"], record["status"]) == ("original", False, "owed")
    tickets = tenant.staff.get(f"/events/{event_id}/tickets").get_json()["data"]
    assert {t["status"] for t in tickets} == {"valid"}
    ticket_id = booking["tickets"][0]["id"]
    admitted = tenant.staff.post(f"/events/check-in/{ticket_id}", json={})
    assert admitted.status_code == 200 and admitted.get_json()["admitted"] is True
    [refund] = [r for r in tenant.staff.get("/events/refunds").get_json()["data"] if r["id"] == record["refund_id"]]
    assert (refund["ticketsVoided"], refund["reason"], refund["amount"]) == (False, "goodwill", 2400)
    kept = in_db(lambda: Ticket.get_by_id(ticket_id).data["refund"])
    assert kept == {"id": record["refund_id"], "method": "original", "amount": 2400}

    again = bulk_refund(tenant, event_id, void_tickets=False, refund_checked_in=True)
    assert (again["result"]["refunded"], again["result"]["refunded_amount"]) == (0, 0)
    assert again["result"]["skipped_already"] == 2
    assert in_db(lambda: Refund.select().where(Refund.booking == booking["bookingId"]).count()) == 1


def test_send_email_delivers_the_staff_text_to_each_buyer_once(tenant, smtp):  # noqa: F811 - fixture
    tenant.enable("notifications")
    tenant.configure("notifications", smtp_host="127.0.0.1", smtp_port=str(smtp.port))
    event_id = make_event(tenant, name="Cancelled show")
    tt = make_type(tenant, event_id, price="8.00", capacity=20)
    box_office_sale(tenant, event_id, tt, 1, "ana@example.com", "Ana")
    box_office_sale(tenant, event_id, tt, 2, "ana@example.com", "Ana")
    box_office_sale(tenant, event_id, tt, 1, "ben@example.com", "Ben")
    smtp.messages.clear()
    body = "Dear guest,\n\nThe show is cancelled <for good>.\nYour money is on its way."
    job = bulk_refund(tenant, event_id, refund_method="none", notify_customer=False, send_email=True,
                      email_template={"subject": "Show cancelled", "body": body})
    assert (job["result"]["cancelled"], job["result"]["emails_sent"]) == (4, 2)
    mails = sorted(smtp.messages, key=lambda m: m["To"])
    assert [m["To"] for m in mails] == ["ana@example.com", "ben@example.com"]
    for mail in mails:
        assert mail["Subject"] == "Show cancelled" and mail["X-Boxoffice-Kind"] == "event_message"
        text = mail.get_body(("plain",)).get_content()
        assert text.replace("\r\n", "\n").strip() == body
        html = mail.get_body(("html",)).get_content()
        assert "&lt;for good&gt;" in html and "<for good>" not in html


def test_buyers_racing_for_the_same_credit_spend_it_once(live_server, tenant, fake):
    from concurrent.futures import ThreadPoolExecutor

    import requests

    use_stripe(tenant, fake)
    fan = tenant.customer()
    job, _ = granted(tenant, fan, fake, price="10.00", quantity=1)
    credit_id = job["result"]["refunds"][0]["store_credit_id"]
    event_id = make_event(tenant, name="Race")
    tt = make_type(tenant, event_id, price="10.00", capacity=50)
    headers = {"orgid": tenant.orgid, "Authorization": f"Bearer {fan.token}"}
    body = {"eventId": event_id, "items": [{"ticketTypeId": tt, "quantity": 1}], "useStoreCredit": True}

    def spend(_):
        return requests.post(live_server.url + PURCHASE, json=body, headers=headers, timeout=60)

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(spend, range(8)))
    won = [a.json() for a in answers if a.status_code == 201]
    assert len(won) == 1 and won[0]["status"] == "confirmed" and won[0]["amount"] == 0, [a.json() for a in answers]
    refused = {(a.status_code, a.json()["type"]) for a in answers if a.status_code != 201}
    assert refused <= {(409, "store_credit_changed"), (422, "no_store_credit")}, refused
    assert in_db(lambda: StoreCredit.get_by_id(credit_id).remaining) == 0
    spent = in_db(lambda: [(d.amount, d.status) for d in StoreCreditDebit.select().where(
        StoreCreditDebit.credit == credit_id)])
    assert spent == [(1000, "spent")]
    tickets = tenant.staff.get(f"/events/{event_id}/tickets").get_json()["data"]
    assert len(tickets) == 1

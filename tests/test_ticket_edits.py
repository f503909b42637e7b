"""Holder edits with a change fee: editable registration types, free edits in and out of their window, paid
edits through the Stripe fake (applied once, after confirmation by the confirm route or a webhook), replays,
refunds after a paid edit, tenancy and bad input. Both databases; all through the HTTP API.
"""

from __future__ import annotations

import datetime as dt

import pytest
from fakes.checks import fake_fixtures
from fakes.stripe_server import FakeStripe
from test_purchase_support import iso, make_event, make_type
from test_stripe import send_webhook, use_stripe
from ticket_factory import fake_gateway, issue, recorded_hooks

from core import db as database
from core.models import Booking, Payment, TicketEdit, TicketType

fake_server, fake = fake_fixtures(FakeStripe)

PURCHASE = "/client/events/tickets/purchase"


def edit_path(ticket_id: str) -> str:
    return f"/client/events/tickets/{ticket_id}"


def confirm_path(ticket_id: str) -> str:
    return f"/client/events/tickets/{ticket_id}/edit/confirm"


def buy_free(tenant, fan, **type_fields) -> dict:
    """`fan` gets one ticket of a free type with `type_fields` (001 names); returns the ticket."""
    event_id = make_event(tenant)
    tt = make_type(tenant, event_id, **type_fields)
    answer = fan.post(PURCHASE, json={"eventId": event_id, "tickets": [{"ticketTypeId": tt, "quantity": 1}]})
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()["tickets"][0]


def buy_with_stripe(tenant, fan, fake, *, price="40.00", fee="2.50", quantity=1) -> tuple[dict, list[dict]]:
    """`fan` buys `quantity` tickets of an editable type (change fee `fee`) paid with the Stripe fake:
    (the confirmed booking's answer, its tickets)."""
    event_id = make_event(tenant)
    tt = make_type(tenant, event_id, price=price, editable=True, editableChangeFee=fee)
    bought = fan.post(PURCHASE, json={"eventId": event_id, "paymentGateway": "stripe",
                                      "tickets": [{"ticketTypeId": tt, "quantity": quantity}]}).get_json()
    fake.pay(bought["paymentData"]["paymentIntentId"])
    confirmed = fan.post("/client/events/tickets/confirm-order", json={"bookingId": bought["bookingId"]})
    assert confirmed.status_code == 200, confirmed.get_json()
    return confirmed.get_json(), confirmed.get_json()["tickets"]


def change_fees(booking_id: str) -> list[Payment]:
    with database.db.connection_context():
        return [p for p in Payment.select().where(Payment.booking == booking_id) if p.data.get("kind") == "change_fee"]


def intents_created(fake) -> list:
    return [r for r in fake.requests if r.method == "POST" and r.path == "/v1/payment_intents"]


# --- the fields on registration types ---------------------------------------------------------------------

def test_registration_types_and_ticket_types_take_the_editable_fields(tenant):
    created = tenant.staff.post("/events", json={"event": {
        "name": "Gala", "starts_at": iso(dt.timedelta(days=9)), "ends_at": iso(dt.timedelta(days=9, hours=3)),
        "registration_types": [{"name": "Early", "price": 50, "editable": True, "editable_change_fee": 5,
                                "editable_minutes": 30}, {"name": "Plain", "price": 10}]}})
    assert created.status_code == 201, created.get_json()
    event_id = created.get_json()["data"]["id"]
    types = {t["name"]: t for t in tenant.staff.get(f"/events/{event_id}/ticket-types").get_json()["data"]}
    early, plain = types["Early"], types["Plain"]
    assert (early["editable"], early["editableChangeFee"], early["editableChangeFeeMinor"],
            early["editableMinutes"]) == (True, "5.00", 500, 30)
    assert (plain["editable"], plain["editableChangeFeeMinor"], plain["editableMinutes"]) == (False, 0, None)

    changed = tenant.staff.patch(f"/events/ticket-types/{plain['id']}",
                                 json={"editable": True, "editableChangeFee": "1.25", "editableMinutes": None})
    assert changed.status_code == 200, changed.get_json()
    data = changed.get_json()["data"]
    assert (data["editable"], data["editableChangeFeeMinor"], data["editableMinutes"]) == (True, 125, None)
    aliased = tenant.staff.patch(f"/events/ticket-types/{plain['id']}",
                                 json={"editable_change_fee": 3, "editable_minutes": 15}).get_json()["data"]
    assert (aliased["editableChangeFeeMinor"], aliased["editableMinutes"]) == (300, 15)


@pytest.mark.parametrize(("body", "field"), [
    ({"editableChangeFee": "-1"}, "editableChangeFee"),
    ({"editableChangeFee": "1.005"}, "editableChangeFee"),
    ({"editableMinutes": 0}, "editableMinutes"),
    ({"editable": "maybe"}, "editable"),
    ({"editableChangeFee": 1, "editable_change_fee": 1}, "editable_change_fee"),
])
def test_bad_editable_fields_on_a_ticket_type_are_422_and_change_nothing(tenant, body, field):
    event_id = make_event(tenant)
    tt = make_type(tenant, event_id)
    answer = tenant.staff.patch(f"/events/ticket-types/{tt}", json=body)
    assert answer.status_code == 422, answer.get_json()
    assert field in str(answer.get_json()["errors"])
    data = tenant.staff.get(f"/events/ticket-types/{tt}").get_json()["data"]
    assert (data["editable"], data["editableChangeFeeMinor"], data["editableMinutes"]) == (False, 0, None)


@pytest.mark.parametrize("item", [{"editable_change_fee": -5}, {"editable_minutes": 0},
                                  {"editable_change_fee": "1.001"}, {"editable_after": 5}])
def test_bad_editable_fields_on_an_event_body_are_422(tenant, item):
    answer = tenant.staff.post("/events", json={"event": {
        "name": "Gala", "starts_at": iso(dt.timedelta(days=9)), "ends_at": iso(dt.timedelta(days=9, hours=3)),
        "registration_types": [{"name": "Early", "price": 50, **item}]}})
    assert answer.status_code == 422, answer.get_json()
    assert next(iter(item)) in str(answer.get_json()["errors"])
    assert tenant.staff.get("/events").get_json()["data"] == []


# --- free edits ----------------------------------------------------------------------------------------------

def test_a_free_edit_in_its_window_changes_the_holder_once_and_fires_the_hook(tenant):
    fan = tenant.customer()
    ticket = buy_free(tenant, fan, editable=True, editableMinutes=60)
    with recorded_hooks(tenant, "ticket_holder_changed") as calls:
        answer = fan.patch(edit_path(ticket["id"]), json={"holderName": "Robin Vale",
                                                           "holderEmail": "robin@example.com"})
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert body["edit"]["status"] == "applied" and body["edit"]["fee"] == {"amount": 0, "currency": "USD"}
    assert (body["ticket"]["holderName"], body["ticket"]["holderEmail"]) == ("Robin Vale", "robin@example.com")
    assert body["edit"]["previousHolderEmail"] == fan.email and "clientSecret" not in body["edit"]
    shown = fan.get(edit_path(ticket["id"])).get_json()
    assert (shown["holderName"], shown["holderEmail"], shown["qrUrl"]) == ("Robin Vale", "robin@example.com",
                                                                           ticket["qrUrl"])
    assert [(name, kw["ticket"].holder_email, kw["edit"].previous_email) for name, kw in calls] == [
        ("ticket_holder_changed", "robin@example.com", fan.email)]

    only_name = fan.patch(edit_path(ticket["id"]), json={"holderName": "Robin V."}).get_json()
    assert (only_name["ticket"]["holderName"], only_name["ticket"]["holderEmail"]) == ("Robin V.",
                                                                                       "robin@example.com")
    staff_view = tenant.staff.get(f"/events/tickets/{ticket['id']}/edits")
    assert staff_view.status_code == 200
    edits = staff_view.get_json()["edits"]
    assert [(e["status"], e["holderName"], e["previousHolderName"]) for e in edits] == [
        ("applied", "Robin Vale", "Test Fan"), ("applied", "Robin V.", "Robin Vale")]
    assert staff_view.get_json()["ticket"]["holderName"] == "Robin V."


def test_an_edit_after_the_window_is_409_edit_window_closed(tenant):
    fan = tenant.customer()
    ticket = buy_free(tenant, fan, editable=True, editableMinutes=30)
    booking_id = fan.get("/client/events/booking").get_json()["bookings"][0]["id"]
    with database.db.connection_context():
        booking = Booking.get_by_id(booking_id)
        Booking.update(confirmed_at=booking.confirmed_at - dt.timedelta(minutes=31)).where(
            Booking.id == booking.id).execute()
    answer = fan.patch(edit_path(ticket["id"]), json={"holderName": "Late Larry"})
    assert answer.status_code == 409 and answer.get_json()["type"] == "edit_window_closed"
    assert answer.get_json()["closedAt"].endswith("Z")
    assert fan.get(edit_path(ticket["id"])).get_json()["holderName"] == "Test Fan"
    assert tenant.staff.get(f"/events/tickets/{ticket['id']}/edits").get_json()["edits"] == []


def test_an_unlimited_window_stays_open(tenant):
    fan = tenant.customer()
    ticket = buy_free(tenant, fan, editable=True)
    with database.db.connection_context():
        long_ago = Booking.get(Booking.customer == fan.customer_id).confirmed_at - dt.timedelta(days=400)
        Booking.update(confirmed_at=long_ago).where(Booking.customer == fan.customer_id).execute()
    assert fan.patch(edit_path(ticket["id"]), json={"holderName": "Much Later"}).status_code == 200


def test_a_type_that_is_not_editable_is_409_ticket_not_editable(tenant):
    fan = tenant.customer()
    ticket = buy_free(tenant, fan)
    answer = fan.patch(edit_path(ticket["id"]), json={"holderName": "Nope"})
    assert answer.status_code == 409 and answer.get_json()["type"] == "ticket_not_editable"
    assert fan.get(edit_path(ticket["id"])).get_json()["holderName"] == "Test Fan"


def test_a_checked_in_or_transferred_ticket_is_not_editable(tenant):
    fan = tenant.customer()
    scanned = buy_free(tenant, fan, editable=True)
    assert tenant.staff.post(f"/events/check-in/{scanned['id']}", json={}).status_code == 200
    answer = fan.patch(edit_path(scanned["id"]), json={"holderName": "After Scan"})
    assert answer.status_code == 409 and answer.get_json()["type"] == "ticket_not_editable"
    assert answer.get_json()["ticketStatus"] == "checked_in"

    given = buy_free(tenant, fan, editable=True)
    assert fan.post(f"{edit_path(given['id'])}/transfer", json={"toEmail": "pal@example.com"}).status_code == 201
    answer = fan.patch(edit_path(given["id"]), json={"holderName": "Gone"})
    assert answer.status_code == 409 and answer.get_json()["ticketStatus"] == "transferred"


def test_bad_input_is_4xx_and_changes_nothing(tenant):
    fan = tenant.customer()
    ticket = buy_free(tenant, fan, editable=True)
    path = edit_path(ticket["id"])
    for body, status, kind in (
            ({"holderEmail": "not-an-email"}, 422, "validation_error"),
            ({"holderName": ""}, 422, "validation_error"),
            ({"holderName": "x" * 201}, 422, "validation_error"),
            ({"holderName": "Ok", "seat": "A1"}, 422, "validation_error"),
            ({}, 422, "nothing_to_change"),
            ({"holderName": "Test Fan", "holderEmail": fan.email}, 422, "nothing_to_change")):
        answer = fan.patch(path, json=body)
        assert (answer.status_code, answer.get_json()["type"]) == (status, kind), body
    assert tenant.guest.patch(path, json={"holderName": "Guest"}).status_code == 401
    assert tenant.staff.patch(path, json={"holderName": "Staff"}).status_code == 403
    assert fan.post(confirm_path(ticket["id"]), json={}).get_json()["type"] == "ticket_edit_not_found"
    assert tenant.staff.get(f"/events/tickets/{ticket['id']}/edits").get_json()["edits"] == []
    assert fan.get(path).get_json()["holderName"] == "Test Fan"


def test_another_customers_or_tenants_ticket_is_404(tenant, other_tenant):
    fan = tenant.customer()
    ticket = buy_free(tenant, fan, editable=True)
    stranger, foreigner = tenant.customer(), other_tenant.customer()
    for client in (stranger, foreigner):
        answer = client.patch(edit_path(ticket["id"]), json={"holderName": "Thief"})
        assert answer.status_code == 404 and answer.get_json()["type"] == "ticket_not_found"
        assert client.post(confirm_path(ticket["id"]), json={}).status_code == 404
    assert other_tenant.staff.get(f"/events/tickets/{ticket['id']}/edits").status_code == 404
    assert fan.get(edit_path(ticket["id"])).get_json()["holderName"] == "Test Fan"


# --- change fees -----------------------------------------------------------------------------------------------

def test_a_fee_on_a_booking_without_a_gateway_is_409_change_fee_needs_gateway(tenant):
    fan = tenant.customer()
    ticket = buy_free(tenant, fan, editable=True, editableChangeFee="2.00")
    answer = fan.patch(edit_path(ticket["id"]), json={"holderName": "Free Rider"})
    assert answer.status_code == 409 and answer.get_json()["type"] == "change_fee_needs_gateway"
    assert fan.get(edit_path(ticket["id"])).get_json()["holderName"] == "Test Fan"


def test_a_paid_edit_applies_only_after_confirmation_and_only_once(tenant, fake):
    use_stripe(tenant, fake)
    fan = tenant.customer()
    booking, (ticket,) = buy_with_stripe(tenant, fan, fake)
    with recorded_hooks(tenant, "ticket_holder_changed") as calls:
        answer = fan.patch(edit_path(ticket["id"]), json={"holderName": "Paid Pat", "holderEmail": "pat@example.com"})
        assert answer.status_code == 202, answer.get_json()
        edit = answer.get_json()["edit"]
        assert edit["status"] == "pending" and edit["fee"] == {"amount": 250, "currency": "USD"}
        assert edit["paymentGateway"] == "stripe" and edit["clientSecret"].startswith(edit["paymentRef"])
        assert answer.get_json()["ticket"]["holderName"] == "Test Fan"
        intent = fake.intents[edit["paymentRef"]]
        assert intent["amount"] == 250 and intent["metadata"]["chargeId"] == edit["id"]

        unpaid = fan.post(confirm_path(ticket["id"]), json={})
        assert unpaid.status_code == 402 and unpaid.get_json()["type"] == "payment_not_completed"
        assert fan.get(edit_path(ticket["id"])).get_json()["holderName"] == "Test Fan"
        assert calls == [] and change_fees(booking["bookingId"]) == []

        fake.pay(edit["paymentRef"])
        confirmed = fan.post(confirm_path(ticket["id"]), json={})
        assert confirmed.status_code == 200, confirmed.get_json()
        assert confirmed.get_json()["edit"]["status"] == "applied"
        assert confirmed.get_json()["ticket"]["holderEmail"] == "pat@example.com"
        again = fan.post(confirm_path(ticket["id"]), json={})
        assert again.status_code == 200 and again.get_json()["edit"] == {
            key: value for key, value in confirmed.get_json()["edit"].items()}
        assert len(calls) == 1
    (fee,) = change_fees(booking["bookingId"])
    assert (fee.amount, fee.currency, fee.gateway, fee.reference) == (250, "USD", "stripe", edit["paymentRef"])
    staff_edits = tenant.staff.get(f"/events/tickets/{ticket['id']}/edits").get_json()["edits"]
    assert [(e["status"], e["fee"]["amount"], e["paymentRef"]) for e in staff_edits] == [
        ("applied", 250, edit["paymentRef"])]
    assert "clientSecret" not in staff_edits[0]
    with database.db.connection_context():
        assert Booking.get_by_id(booking["bookingId"]).amount == booking["amount"]


def test_a_webhook_applies_a_paid_edit_and_a_replayed_webhook_applies_nothing_more(tenant, fake):
    settings = use_stripe(tenant, fake)
    fan = tenant.customer()
    booking, (ticket,) = buy_with_stripe(tenant, fan, fake)
    edit = fan.patch(edit_path(ticket["id"]), json={"holderName": "Hooked Hana"}).get_json()["edit"]
    intent = fake.pay(edit["paymentRef"])
    with recorded_hooks(tenant, "ticket_holder_changed") as calls:
        for _ in range(2):
            delivered = send_webhook(tenant, settings, "payment_intent.succeeded", intent)
            assert delivered.status_code == 200, delivered.get_json()
            assert delivered.get_json()["recorded"] == "ticket_edit_applied"
        after = fan.post(confirm_path(ticket["id"]), json={})
        assert after.status_code == 200 and after.get_json()["edit"]["status"] == "applied"
    assert len(calls) == 1 and len(change_fees(booking["bookingId"])) == 1
    assert fan.get(edit_path(ticket["id"])).get_json()["holderName"] == "Hooked Hana"
    # the fee's payment is never taken for the booking's own: the booking stays as it was
    with database.db.connection_context():
        stored = Booking.get_by_id(booking["bookingId"])
        assert (stored.status, stored.payment_ref) == ("confirmed", booking["paymentRef"])


def test_the_edit_request_is_replay_safe(tenant, fake):
    use_stripe(tenant, fake)
    fan = tenant.customer()
    _, (ticket,) = buy_with_stripe(tenant, fan, fake)
    before = len(intents_created(fake))
    keyed = {"Idempotency-Key": "edit-once"}
    first = fan.patch(edit_path(ticket["id"]), json={"holderName": "Kay"}, headers=keyed)
    replay = fan.patch(edit_path(ticket["id"]), json={"holderName": "Kay"}, headers=keyed)
    assert (first.status_code, replay.status_code) == (202, 202)
    assert replay.headers.get("Idempotent-Replayed") == "true" and replay.get_json() == first.get_json()
    reused = fan.patch(edit_path(ticket["id"]), json={"holderName": "Kay"})  # no key, same change: same edit
    assert reused.status_code == 202 and reused.get_json()["edit"]["id"] == first.get_json()["edit"]["id"]
    assert reused.get_json()["edit"]["clientSecret"] == first.get_json()["edit"]["clientSecret"]
    assert len(intents_created(fake)) == before + 1
    other = fan.patch(edit_path(ticket["id"]), json={"holderName": "Other"}, headers=keyed)
    assert other.status_code == 422 and other.get_json()["type"] != "nothing_to_change"
    with database.db.connection_context():
        assert TicketEdit.select().where(TicketEdit.ticket == ticket["id"]).count() == 1

    fake.pay(first.get_json()["edit"]["paymentRef"])
    confirm_key = {"Idempotency-Key": "confirm-edit"}
    applied = fan.post(confirm_path(ticket["id"]), json={}, headers=confirm_key)
    replayed = fan.post(confirm_path(ticket["id"]), json={}, headers=confirm_key)
    assert applied.status_code == 200 and replayed.get_json() == applied.get_json()
    assert fan.get(edit_path(ticket["id"])).get_json()["holderName"] == "Kay"


def test_the_client_secret_of_a_pending_edit_is_kept_sealed(tenant, fake):
    use_stripe(tenant, fake)
    fan = tenant.customer()
    _, (ticket,) = buy_with_stripe(tenant, fan, fake)
    secret = fan.patch(edit_path(ticket["id"]), json={"holderName": "Sealed Sam"}).get_json()["edit"]["clientSecret"]
    with database.db.connection_context():
        stored = TicketEdit.get(TicketEdit.ticket == ticket["id"])
        assert secret not in str(stored.payment_data) and stored.payment_ref


def test_refunding_a_ticket_after_a_paid_edit_pays_back_the_ticket_price_not_the_fee(tenant, fake):
    use_stripe(tenant, fake)
    fan = tenant.customer()
    booking, (ticket, _) = buy_with_stripe(tenant, fan, fake, price="40.00", quantity=2)
    edit = fan.patch(edit_path(ticket["id"]), json={"holderName": "Refunded Ria"}).get_json()["edit"]
    fake.pay(edit["paymentRef"])
    assert fan.post(confirm_path(ticket["id"]), json={}).status_code == 200
    refunded = tenant.staff.post(f"/events/tickets/{ticket['id']}/refund", json={})
    assert refunded.status_code == 200, refunded.get_json()
    assert refunded.get_json()["refund"]["amount"] == 4000
    whole = tenant.staff.post(f"/events/bookings/{booking['bookingId']}/refund", json={})
    assert whole.status_code == 200 and whole.get_json()["refund"]["amount"] == 4000
    stripe_refunds = [r.form for r in fake.requests if r.path == "/v1/refunds"]
    assert [(f["payment_intent"], f["amount"]) for f in stripe_refunds] == [(booking["paymentRef"], "4000")] * 2
    too_much = tenant.staff.post(f"/events/bookings/{booking['bookingId']}/refund", json={"amount": 1})
    assert too_much.status_code == 409 and too_much.get_json()["type"] == "already_refunded"
    assert len(change_fees(booking["bookingId"])) == 1


def test_a_gateway_without_extra_payments_is_422_payment_step_unsupported(tenant):
    fan = tenant.customer()
    event_id = make_event(tenant)
    tt = make_type(tenant, event_id, price="10.00", editable=True, editableChangeFee="1.00")
    with fake_gateway(tenant, "cardco"):
        with database.db.connection_context():
            (ticket,) = issue(tenant, TicketType.get_by_id(tt), customer_id=fan.customer_id, gateway="cardco")
        answer = fan.patch(edit_path(ticket.id), json={"holderName": "Pal"})
    assert answer.status_code == 422 and answer.get_json()["type"] == "payment_step_unsupported"
    assert answer.get_json()["step"] == "extra_payment"


def test_migration_13_adds_the_columns_and_the_table_once(tenant):
    from core.migrations import m0013_ticket_edits

    event_id = make_event(tenant)
    tt = make_type(tenant, event_id, editable=True, editableChangeFee="4.00", editableMinutes=9)
    with database.db.connection_context():
        database.db.execute_sql('ALTER TABLE "ticket_type" DROP COLUMN "edit_minutes"')
        assert "edit_minutes" not in {c.name for c in database.db.get_columns("ticket_type")}
        m0013_ticket_edits.upgrade()
        m0013_ticket_edits.upgrade()  # idempotent
        assert "edit_minutes" in {c.name for c in database.db.get_columns("ticket_type")}
        assert "ticket_edit" in database.db.get_tables()
    data = tenant.staff.get(f"/events/ticket-types/{tt}").get_json()["data"]
    assert (data["editable"], data["editableChangeFeeMinor"], data["editableMinutes"]) == (True, 400, None)


def test_a_provider_outage_keeps_the_pending_edit_and_a_keyed_retry_resumes_it(tenant, fake):
    use_stripe(tenant, fake)
    fan = tenant.customer()
    _, (ticket,) = buy_with_stripe(tenant, fan, fake)
    keyed = {"Idempotency-Key": "edit-through-outage"}
    fake.mode = "5xx"
    failed = fan.patch(edit_path(ticket["id"]), json={"holderName": "Outage Olly"}, headers=keyed)
    assert failed.status_code == 502 and failed.get_json()["type"] == "gateway_unavailable"
    assert fan.get(edit_path(ticket["id"])).get_json()["holderName"] == "Test Fan"
    fake.mode = "ok"
    retried = fan.patch(edit_path(ticket["id"]), json={"holderName": "Outage Olly"}, headers=keyed)
    assert retried.status_code == 202, retried.get_json()
    with database.db.connection_context():
        (edit,) = TicketEdit.select().where(TicketEdit.ticket == ticket["id"])
    assert retried.get_json()["edit"]["id"] == edit.id and edit.payment_ref == retried.get_json()["edit"]["paymentRef"]
    charged = {r.form.get("metadata[chargeId]") for r in intents_created(fake)} - {None}
    assert charged == {edit.id}
    fake.mode = "5xx"
    fake.pay(edit.payment_ref)
    down = fan.post(confirm_path(ticket["id"]), json={})
    assert down.status_code == 502 and fan.get(edit_path(ticket["id"])).get_json()["holderName"] == "Test Fan"
    fake.mode = "ok"
    assert fan.post(confirm_path(ticket["id"]), json={}).get_json()["ticket"]["holderName"] == "Outage Olly"


def test_concurrent_confirms_and_webhooks_of_a_paid_edit_apply_it_once(live_server, tenant, fake):
    from concurrent.futures import ThreadPoolExecutor

    import requests
    from fakes.stripe_server import event_payload, sign_payload

    settings = use_stripe(tenant, fake, timeout="10")
    fan = tenant.customer()
    booking, (ticket,) = buy_with_stripe(tenant, fan, fake)
    edit = fan.patch(edit_path(ticket["id"]), json={"holderName": "Raced Rae"}).get_json()["edit"]
    payload = event_payload("payment_intent.succeeded", fake.pay(edit["paymentRef"]))

    def attempt(i):
        if i % 2:
            return requests.post(f"{live_server.url}/webhooks/stripe/{tenant.orgid}", data=payload, timeout=60,
                                 headers={"Stripe-Signature": sign_payload(payload, settings["webhook_secret"]),
                                          "Content-Type": "application/json"})
        return requests.post(f"{live_server.url}{confirm_path(ticket['id'])}", json={}, timeout=60,
                             headers={"orgid": tenant.orgid, "Authorization": f"Bearer {fan.token}"})

    with recorded_hooks(tenant, "ticket_holder_changed") as calls, ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(attempt, range(8)))
    assert [a.status_code for a in answers] == [200] * 8, [a.json() for a in answers]
    assert {a.json()["recorded"] for a in answers[1::2]} == {"ticket_edit_applied"}
    assert {a.json()["edit"]["status"] for a in answers[::2]} == {"applied"}
    assert len(calls) == 1 and len(change_fees(booking["bookingId"])) == 1

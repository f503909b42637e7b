"""A club cart with several showings checked out ONCE: one core booking per showing, all or nothing, free ones
confirmed at once, paid ones paid by ONE CyberSource payment of their sum (the checkout group's reference) at
the loopback hosted page, confirmed each with its own share; declines, a late payment with one showing's seats
gone (that share refunded through the REST fake), replays, mismatches; QR e-mails at the loopback SMTP server."""

from __future__ import annotations

import datetime as dt
import io
from concurrent.futures import ThreadPoolExecutor

import requests
import test_club_cart_payments as paid_flow
import zxingcpp
from fakes.checks import booking_row, fake_fixtures, ticket_ids
from fakes.cybersource_server import FakeCyberSource, sign
from PIL import Image
from test_purchase_support import age_booking, counters, guest_purchase, iso, make_event, make_type

from core import db as database
from core.models import Booking, Payment, Refund

fake_server, fake = fake_fixtures(FakeCyberSource)
club, smtp = paid_flow.club, paid_flow.smtp   # the paid club (cart, CyberSource at the fake, loopback SMTP)
_pay, _callback = paid_flow._pay, paid_flow._callback

CART = "/api/tickets/cart/"
ADD = "/api/tickets/cart/add/"
CHECKOUT = "/api/tickets/initiate_checkout/"
TICKETS = "/api/tickets/"


def _add(member, showing, tt, count):
    answer = member.post(ADD, json={"showing": showing, "type": tt, "count": count})
    assert answer.status_code == 200, answer.get_json()


def _bookings(member) -> dict[str, Booking]:
    """The member's bookings by showing (event id), as stored now."""
    with database.db.connection_context():
        return {b.event_id: b for b in Booking.select().where(Booking.customer == member.customer_id)}


def _cart_of_two(club, first: dict, second: dict) -> tuple:
    """A member whose cart holds `count` tickets of each of two new events' one ticket type (`first` and
    `second`: the type's fields and `count`; `event` names the event): (member, [(event, type), ...])."""
    member, showings = club.customer(), []
    for spec in (first, second):
        spec = dict(spec)
        count, name = spec.pop("count", 1), spec.pop("event", "Spring Gala")
        event = make_event(club, name=name)
        tt = make_type(club, event, **spec)
        _add(member, event, tt, count)
        showings.append((event, tt))
    return member, showings


def _expire_and_sell(club, member, sold: list[tuple[str, str, int]]) -> None:
    """The member's holds run out (expired by the core's job), then a guest buys `count` of each (event, type)."""
    for booking in _bookings(member).values():
        age_booking(booking.id)
    from core.services import holds

    with database.db.connection_context():
        assert holds.expire_holds_job() >= 1
    for event, tt, count in sold:
        taken = club.guest.post("/client/events/tickets/purchase",
                                json=guest_purchase(club, event, [(tt, count)], paymentGateway="offline"))
        assert taken.status_code == 201, taken.get_json()


def _payments(booking_id: str) -> list[tuple[str, int, str]]:
    with database.db.connection_context():
        return [(p.reference, p.amount, p.status) for p in Payment.select().where(Payment.booking == booking_id)]


def _sessions(club, *names) -> list[str]:
    """A published parent event with one session per name; the sessions' ids."""
    start = dt.datetime.now(dt.UTC) + dt.timedelta(days=20)
    sessions = [{"name": name, "starts_at": (start + dt.timedelta(days=i)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                 "ends_at": (start + dt.timedelta(days=i, hours=3)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                 "published_at": iso(-dt.timedelta(minutes=5))} for i, name in enumerate(names)]
    created = club.staff.post("/events", json={"event": {"type": "parent", "name": "Festival", "sessions": sessions,
                                                         "published_at": iso(-dt.timedelta(minutes=5))}})
    assert created.status_code == 201, created.get_json()
    parent = club.staff.get(f"/events/{created.get_json()['data']['id']}?include=sessions").get_json()["data"]
    return [session["id"] for session in parent["sessions"]]


def _qr_texts(mails) -> set[str]:
    return {zxingcpp.read_barcodes(Image.open(io.BytesIO(part.get_content())))[0].text
            for mail in mails for part in mail.walk() if part.get_content_type() == "image/png"}


def _served_qr_texts(member) -> set[str]:
    return {zxingcpp.read_barcodes(Image.open(io.BytesIO(member.get(f"{TICKETS}{t['id']}/qr/").data)))[0].text
            for t in member.get(TICKETS).get_json()}


def test_two_sessions_of_a_parent_checked_out_free_at_once(club, smtp):
    night1, night2 = _sessions(club, "Night 1", "Night 2")
    tt1 = make_type(club, night1, name="Night 1 pass", price=0, capacity=5)
    tt2 = make_type(club, night2, name="Night 2 pass", price=0, capacity=5)
    member = club.customer(name="Ada Lovelace")
    _add(member, night1, tt1, 2)
    _add(member, night2, tt2, 1)

    answer = member.post(CHECKOUT, json={})
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json() == {"success": True, "sold_free_tickets": True}
    made = _bookings(member)
    assert {showing: b.status for showing, b in made.items()} == {night1: "confirmed", night2: "confirmed"}
    assert counters(night1, tt1)["sold"] == 2 and counters(night2, tt2)["sold"] == 1
    mine = member.get(TICKETS).get_json()
    assert sorted((t["showing"]["id"], t["type"], t["owner"]) for t in mine) == sorted(
        [(night1, "Night 1 pass", "Ada Lovelace")] * 2 + [(night2, "Night 2 pass", "Ada Lovelace")])
    assert member.get(CART).get_json() == {"tickets": [], "stale": []}
    assert len(smtp.event_messages) == 2 and {m["To"] for m in smtp.event_messages} == {member.email}  # one per booking
    assert _qr_texts(smtp.event_messages) == _served_qr_texts(member) and len(_served_qr_texts(member)) == 3


def test_two_events_paid_by_one_payment_end_to_end(club, fake, smtp):
    member, [(concert, seat), (play, stall)] = _cart_of_two(
        club, {"event": "Winter Concert", "name": "Normal", "price": "20.00", "capacity": 10, "count": 2},
        {"event": "Spring Play", "name": "Stalls", "price": "15.50", "capacity": 10})

    answer = member.post(CHECKOUT, json={}).get_json()
    assert answer["success"] is True and answer["sold_free_tickets"] is False
    params = answer["payment_params"]
    assert params["amount"] == "55.50" and params["currency"] == "USD"
    assert params["signature"] == sign(club.secret_key, params)
    made = _bookings(member)
    assert sorted(b.amount for b in made.values()) == [1550, 4000]
    assert all(b.status == "pending" for b in made.values())
    assert params["reference_number"] == params["transaction_uuid"] not in {b.id for b in made.values()}
    assert counters(concert, seat)["held"] == 2 and counters(play, stall)["held"] == 1
    assert member.post(CHECKOUT, json={}).get_json() == answer   # a double click: the same checkout
    assert len(_bookings(member)) == 2

    result = _pay(answer, fake)
    assert result["delivered"]["status"] == 200, result["delivered"]
    assert '"success":true' in result["delivered"]["body"].replace(" ", "")
    transaction = result["callback"]["transaction_id"]
    assert {b.event_id: b.status for b in map(lambda b: booking_row(b.id), made.values())} == {
        concert: "confirmed", play: "confirmed"}
    assert _payments(made[concert].id) == [(transaction, 4000, "succeeded")]   # each its own share
    assert _payments(made[play].id) == [(transaction, 1550, "succeeded")]
    assert counters(concert, seat) == {"event_sold": 2, "event_held": 0, "tickets": 2, "sold": 2, "held": 0}
    assert counters(play, stall) == {"event_sold": 1, "event_held": 0, "tickets": 1, "sold": 1, "held": 0}
    mine = member.get(TICKETS).get_json()
    assert sorted((t["event"]["name"], t["price"]) for t in mine) == [
        ("Spring Play", "15.50"), ("Winter Concert", "20.00"), ("Winter Concert", "20.00")]
    assert member.get(CART).get_json() == {"tickets": [], "stale": []}
    assert len(smtp.event_messages) == 2 and _qr_texts(smtp.event_messages) == _served_qr_texts(member)

    replay = _callback(club, result["callback"])   # the browser's copy of the same callback
    assert replay.status_code == 200 and replay.get_json()["success"] is True
    assert len(ticket_ids(made[concert].id)) == 2 and len(ticket_ids(made[play].id)) == 1
    assert len(_payments(made[concert].id)) == 1 and len(_payments(made[play].id)) == 1
    assert len(smtp.event_messages) == 2

    again = member.post(CHECKOUT, json={})   # the cart is empty now; the paid checkout is not replayed
    assert again.status_code == 400 and again.get_json()["type"] == "cart_empty"


def test_four_callbacks_for_one_group_at_once_confirm_each_booking_once(club, fake, live_server, smtp):
    member, [(first, tt1), (second, tt2)] = _cart_of_two(
        club, {"price": "8.00", "capacity": 4, "count": 2}, {"price": "9.00", "capacity": 4})
    answer = member.post(CHECKOUT, json={}).get_json()
    fake.deliver = False
    callback = _pay(answer, fake)["callback"]

    def post(_):   # the Merchant POST and the browser's copy, twice each, together
        return requests.post(live_server.url + "/api/tickets/payment_complete/", data=callback, timeout=60)

    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(post, range(4)))
    assert [a.status_code for a in answers] == [200] * 4 and all(a.json()["success"] for a in answers)
    made = _bookings(member)
    assert [len(_payments(made[e].id)) for e in (first, second)] == [1, 1]
    assert counters(first, tt1) == {"event_sold": 2, "event_held": 0, "tickets": 2, "sold": 2, "held": 0}
    assert counters(second, tt2) == {"event_sold": 1, "event_held": 0, "tickets": 1, "sold": 1, "held": 0}
    assert len(member.get(TICKETS).get_json()) == 3 and len(smtp.event_messages) == 2


def test_a_sold_out_showing_is_stale_and_nothing_is_held_for_the_other(club, fake):
    member, [(first, tt1), (second, tt2)] = _cart_of_two(
        club, {"name": "A", "price": "10.00", "capacity": 5, "count": 2},
        {"name": "B", "price": "10.00", "capacity": 2, "count": 2})
    taken = club.guest.post("/client/events/tickets/purchase",
                            json=guest_purchase(club, second, [(tt2, 1)], paymentGateway="offline"))
    assert taken.status_code == 201, taken.get_json()

    stale = member.post(CHECKOUT, json={})
    assert stale.status_code == 403, stale.get_json()
    body = stale.get_json()
    assert body["type"] == "cart_stale" and body["success"] is False
    assert [(s["showing"], s["type"], s["count"], s["reason"]) for s in body["stale"]] == [
        (second, "B", 1, "sold_out")]
    assert counters(first, tt1)["held"] == 0 and counters(second, tt2)["held"] == 1   # the guest's only
    assert _bookings(member) == {}


def test_a_hold_refused_after_another_showings_hold_releases_that_one_at_once(club, fake):
    member, [(first, tt1), (second, tt2)] = _cart_of_two(
        club, {"name": "A", "price": "10.00", "capacity": 5, "count": 2},
        {"name": "B", "price": "12.00", "capacity": 5, "count": 3})
    # the second showing's rule changes after the cart was filled: its hold is refused by the core
    assert club.staff.patch(f"/events/ticket-types/{tt2}", json={"orderMax": 2}).status_code == 200

    refused = member.post(CHECKOUT, json={})
    assert refused.status_code == 422 and refused.get_json()["type"] == "above_order_max"
    made = _bookings(member)
    assert list(made) == [first] and made[first].status in ("expired", "cancelled")   # held, then given back
    assert counters(first, tt1) == {"event_sold": 0, "event_held": 0, "tickets": 0, "sold": 0, "held": 0}
    assert counters(second, tt2)["held"] == 0


def test_a_declined_payment_releases_every_showing_at_once(club, fake):
    night1, night2 = _sessions(club, "Night 1", "Night 2")
    tt1 = make_type(club, night1, name="N1", price="30.00", capacity=4)
    tt2 = make_type(club, night2, name="N2", price="30.00", capacity=4)
    member = club.customer()
    _add(member, night1, tt1, 1)
    _add(member, night2, tt2, 2)
    answer = member.post(CHECKOUT, json={}).get_json()
    assert answer["payment_params"]["amount"] == "90.00"
    assert counters(night1, tt1)["held"] == 1 and counters(night2, tt2)["held"] == 2

    result = _pay(answer, fake, "DECLINE")
    assert result["delivered"]["status"] == 200, result["delivered"]
    assert '"success":false' in result["delivered"]["body"].replace(" ", "")
    assert {b.status for b in _bookings(member).values()} == {"expired"}
    assert counters(night1, tt1)["held"] == 0 and counters(night2, tt2)["held"] == 0
    assert sorted(line["count"] for line in member.get(CART).get_json()["tickets"]) == [1, 2]

    again = member.post(CHECKOUT, json={}).get_json()   # a new checkout, a new group and form
    assert again["payment_params"]["reference_number"] != answer["payment_params"]["reference_number"]
    assert counters(night1, tt1)["held"] == 1 and counters(night2, tt2)["held"] == 2


def test_a_late_payment_confirms_the_showing_still_free_and_refunds_the_gone_ones_share(club, fake, smtp):
    member, [(gone, tt_gone), (kept, _)] = _cart_of_two(
        club, {"event": "Gone", "price": "25.00", "capacity": 2, "count": 2},
        {"event": "Kept", "price": "10.00", "capacity": 5})
    answer = member.post(CHECKOUT, json={}).get_json()
    assert answer["payment_params"]["amount"] == "60.00"
    made = _bookings(member)
    _expire_and_sell(club, member, [(gone, tt_gone, 2)])

    fake.deliver = False
    result = _pay(answer, fake)
    transaction = result["callback"]["transaction_id"]
    for _ in range(2):   # and its replay: one confirmation, one refund
        late = _callback(club, result["callback"])
        assert late.status_code == 200, late.get_json()
        assert late.get_json()["success"] is True and late.get_json()["refunded"] == [made[gone].id]
    assert booking_row(made[kept].id).status == "confirmed" and len(ticket_ids(made[kept].id)) == 1
    assert booking_row(made[gone].id).status == "refunded" and ticket_ids(made[gone].id) == []
    [call] = fake.calls("POST", "/pts/v2/payments/")
    assert call.path == f"/pts/v2/payments/{transaction}/refunds"
    assert call.json["orderInformation"]["amountDetails"] == {"totalAmount": "50.00", "currency": "USD"}
    assert fake.transactions[transaction]["refunded"] == 50   # of the 60.00 paid
    with database.db.connection_context():
        [refund] = Refund.select().where(Refund.booking == made[gone].id)
        assert refund.status == "succeeded" and refund.amount == 5000
    assert _payments(made[kept].id) == [(transaction, 1000, "succeeded")]
    assert _payments(made[gone].id) == [(transaction, 5000, "succeeded")]
    assert [t["event"]["name"] for t in member.get(TICKETS).get_json()] == ["Kept"]
    assert len(smtp.event_messages) == 1


def test_a_late_payment_with_every_showings_seats_gone_is_refunded_whole(club, fake):
    member, [(first, tt1), (second, tt2)] = _cart_of_two(
        club, {"price": "5.00", "capacity": 1}, {"price": "7.00", "capacity": 1})
    answer = member.post(CHECKOUT, json={}).get_json()
    _expire_and_sell(club, member, [(first, tt1, 1), (second, tt2, 1)])
    fake.deliver = False
    late = _callback(club, _pay(answer, fake)["callback"])
    assert late.status_code == 409 and late.get_json()["type"] == "hold_expired"
    assert late.get_json()["refunded"] is True
    assert {b.status for b in _bookings(member).values()} == {"refunded"}
    assert sorted(c.json["orderInformation"]["amountDetails"]["totalAmount"]
                  for c in fake.calls("POST", "/pts/v2/payments/")) == ["5.00", "7.00"]


def test_a_group_callback_for_another_amount_or_forged_changes_nothing(club, fake):
    member, [(first, tt1), (second, tt2)] = _cart_of_two(
        club, {"price": "10.00", "capacity": 3}, {"price": "10.00", "capacity": 3})
    answer = member.post(CHECKOUT, json={}).get_json()
    fake.deliver = False
    short = _pay(answer, fake, req_amount="10.00")["callback"]   # signed by CyberSource, but not the total
    mismatch = _callback(club, short)
    assert mismatch.status_code == 402 and mismatch.get_json()["type"] == "payment_mismatch"
    forged = _callback(club, dict(short, req_amount="20.00"))
    assert forged.status_code == 400 and forged.get_json()["type"] == "invalid_signature"
    assert {b.status for b in _bookings(member).values()} == {"pending"}
    assert all(_payments(b.id) == [] and ticket_ids(b.id) == [] for b in _bookings(member).values())
    assert counters(first, tt1)["held"] == 1 and counters(second, tt2)["held"] == 1


def test_free_and_paid_showings_together(club, fake, smtp):
    member, [(free, _), (paid, _)] = _cart_of_two(
        club, {"event": "Open Rehearsal", "name": "Open", "price": 0, "capacity": 5},
        {"event": "Premiere", "name": "Seat", "price": "40.00", "capacity": 5})

    answer = member.post(CHECKOUT, json={}).get_json()
    assert answer["sold_free_tickets"] is False and answer["payment_params"]["amount"] == "40.00"
    made = _bookings(member)
    assert made[free].status == "confirmed" and made[paid].status == "pending"   # free ones: at once
    assert [line["type"] for line in member.get(CART).get_json()["tickets"]] == ["Seat"]
    result = _pay(answer, fake)
    assert result["delivered"]["status"] == 200, result["delivered"]
    assert booking_row(made[paid].id).status == "confirmed"
    assert sorted(t["type"] for t in member.get(TICKETS).get_json()) == ["Open", "Seat"]
    assert member.get(CART).get_json() == {"tickets": [], "stale": []}


def test_paid_showings_in_two_currencies_are_refused_and_nothing_is_held(club, fake):
    member, [(first, tt1), (second, tt2)] = _cart_of_two(
        club, {"price": "10.00", "currency": "USD", "capacity": 3},
        {"price": "10.00", "currency": "EUR", "capacity": 3})
    refused = member.post(CHECKOUT, json={})
    assert refused.status_code == 422 and refused.get_json()["type"] == "currency_mismatch"
    assert counters(first, tt1)["held"] == 0 and counters(second, tt2)["held"] == 0
    assert {b.status for b in _bookings(member).values()} <= {"expired", "cancelled"}
    assert len(member.get(CART).get_json()["tickets"]) == 2


def test_plugin_migration_2_adds_the_groups_to_a_club_that_had_carts_before(club):
    from plugins.club_cart import register_migrations

    night1, night2 = _sessions(club, "Night 1", "Night 2")
    tt1 = make_type(club, night1, price=0, capacity=5)
    tt2 = make_type(club, night2, price=0, capacity=5)
    member = club.customer()
    _add(member, night1, tt1, 1)   # a cart from before the upgrade
    [migration] = register_migrations()
    assert (migration.component, migration.version) == ("club_cart", 2)
    with database.db.connection_context():
        database.db.execute_sql("DROP TABLE club_cart_checkout_group")
        database.db.execute_sql("ALTER TABLE club_cart_cart DROP COLUMN checkout_group_id")
        migration.apply()
        migration.apply()   # idempotent
        assert "checkout_group_id" in {c.name for c in database.db.get_columns("club_cart_cart")}
    _add(member, night2, tt2, 1)
    assert member.post(CHECKOUT, json={}).get_json() == {"success": True, "sold_free_tickets": True}
    assert sorted(t["showing"]["id"] for t in member.get(TICKETS).get_json()) == sorted([night1, night2])

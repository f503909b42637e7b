"""The club cart's checkout under real concurrency (a threaded HTTP server): many carts racing for few seats
sell exactly the seats there are, and a member's double click makes one booking."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from audits import counters_match_rows
from test_purchase_support import counters, make_event, make_type

from core import db as database
from core.models import Booking, Customer, new_id

CHECKOUT = "/api/tickets/initiate_checkout/"
ADD = "/api/tickets/cart/add/"


@pytest.fixture
def club(tenant):
    """A tenant (the club) with the cart plugin enabled."""
    tenant.enable("club_cart")
    return tenant


def members(club, count: int) -> list[str]:
    """`count` member accounts of the club, made in one insert (registering each would hash a password each);
    returns their bearer tokens."""
    from core.auth import issue_token

    rows = [{"id": new_id(), "org": club.orgid, "email": f"member{i}-{new_id()[:8]}@example.com",
             "name": f"Member {i}", "password_hash": "unused"} for i in range(count)]
    with database.db.connection_context():
        Customer.insert_many(rows).execute()
    config = club.app.config["BOXOFFICE"]
    return [issue_token(config.secret_key, sub=row["id"], org=club.orgid, role="customer", email=row["email"],
                        ttl_seconds=3600) for row in rows]


def _post(server, club, token, path, body):
    headers = {"orgid": club.orgid, "Authorization": f"Bearer {token}"}
    return requests.post(server.url + path, json=body, headers=headers, timeout=120)


def _run(count, fn, workers=32):
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(fn, range(count)))


def test_200_carts_checking_out_50_seats_at_once_sell_exactly_50(live_server, club):
    event = make_event(club, capacity=50, name="Flash")
    tt = make_type(club, event, name="Seat", price=0, capacity=80)   # the event's capacity binds
    tokens = members(club, 200)
    added = _run(200, lambda i: _post(live_server, club, tokens[i], ADD, {"showing": event, "type": tt, "count": 1}))
    assert {a.status_code for a in added} == {200}

    answers = _run(200, lambda i: _post(live_server, club, tokens[i], CHECKOUT, {}))
    sold = [a for a in answers if a.status_code == 200]
    refused = [a for a in answers if a.status_code != 200]
    assert len(sold) == 50 and all(a.json() == {"success": True, "sold_free_tickets": True} for a in sold)
    assert {a.status_code for a in refused} == {403}
    assert all(a.json()["type"] == "cart_stale" and a.json()["stale"][0]["count"] == 1 for a in refused)
    assert counters(event, tt) == {"event_sold": 50, "event_held": 0, "tickets": 50, "sold": 50, "held": 0}
    with database.db.connection_context():
        assert counters_match_rows(event)
        assert Booking.select().where(Booking.event == event).count() == 50


def test_a_double_click_makes_one_booking(live_server, club):
    event = make_event(club)
    tt = make_type(club, event, price=0, capacity=20)
    [token] = members(club, 1)
    assert _post(live_server, club, token, ADD, {"showing": event, "type": tt, "count": 3}).status_code == 200

    answers = _run(6, lambda i: _post(live_server, club, token, CHECKOUT, {}), workers=6)
    assert any(a.status_code == 200 for a in answers)
    for answer in answers:   # the first click's answer, or (once it settled and emptied the cart) an empty cart
        assert (answer.status_code, answer.json().get("sold_free_tickets", answer.json().get("type"))) in (
            (200, True), (400, "cart_empty")), answer.json()
    assert counters(event, tt)["tickets"] == 3
    with database.db.connection_context():
        assert Booking.select().where(Booking.event == event).count() == 1

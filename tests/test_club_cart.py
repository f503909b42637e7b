"""The club_cart plugin (004) over HTTP: the cart, stale items, free checkout, a member's tickets and QR, errors in
004's style, tenancy.

Events and ticket types are made through the staff API; members buy at /api/tickets/... with their own token.
"""

from __future__ import annotations

import datetime as dt
import io

import pytest
import zxingcpp
from PIL import Image
from test_purchase_support import counters, guest_purchase, iso, make_event, make_type

from core import db as database
from core.models import Booking, utcnow

CART = "/api/tickets/cart/"
ADD = "/api/tickets/cart/add/"
REMOVE = "/api/tickets/cart/remove/"
CHECKOUT = "/api/tickets/initiate_checkout/"
TICKETS = "/api/tickets/"


@pytest.fixture
def club(tenant):
    """A tenant (the club) with the cart plugin enabled."""
    tenant.enable("club_cart")
    return tenant


def _add(member, showing, type_ref, count):
    return member.post(ADD, json={"showing": showing, "type": type_ref, "count": count})


def test_a_member_adds_views_and_removes_cart_lines(club):
    event = make_event(club, name="Spring Show")
    normal = make_type(club, event, name="Normal", price=10, capacity=20)
    premium = make_type(club, event, name="Premium", price=25, capacity=5)
    member = club.customer()

    assert member.get(CART).get_json() == {"tickets": [], "stale": []}
    added = _add(member, event, normal, 2)
    assert added.status_code == 200, added.get_json()
    assert _add(member, event, "Premium", 1).status_code == 200   # by name within the showing
    assert _add(member, event, normal, 1).status_code == 200      # same line grows

    lines = member.get(CART).get_json()["tickets"]
    assert [(line["type"], line["count"], line["price"], line["currency"]) for line in lines] == [
        ("Normal", 3, "10.00", "USD"), ("Premium", 1, "25.00", "USD")]
    assert lines[0]["showing"]["id"] == event and lines[0]["event"] == {"id": event, "name": "Spring Show"}
    assert lines[1]["type_id"] == premium

    assert member.post(REMOVE, json={"showing": event, "type": normal, "count": 1}).status_code == 200
    assert member.post(REMOVE, json={"showing": event, "type": premium, "count": 100}).status_code == 200
    assert [(line["type"], line["count"]) for line in member.get(CART).get_json()["tickets"]] == [("Normal", 2)]
    assert club.customer().get(CART).get_json()["tickets"] == []   # another member's cart is their own


def test_bad_cart_input_is_a_4xx_in_004s_style_and_changes_nothing(club):
    event = make_event(club)
    tt = make_type(club, event, capacity=3, order_max=2)
    other = make_event(club)
    other_type = make_type(club, other)
    member = club.customer()

    refused = _add(member, event, "No such type", 1)
    assert refused.status_code == 404
    body = refused.get_json()
    assert body["type"] == "ticket_type_not_found" and body["detail"] == body["message"]
    assert _add(member, "not-an-event", tt, 1).get_json()["type"] == "showing_not_found"
    assert _add(member, event, tt, 3).get_json()["type"] == "above_order_max"
    assert _add(member, event, other_type, 1).get_json()["type"] == "ticket_type_not_found"
    invalid = member.post(ADD, json={"showing": event, "type": tt, "count": 0})
    assert invalid.status_code == 422 and invalid.get_json()["detail"]
    assert member.post(ADD, json={"showing": event, "type": tt, "count": "2"}).status_code == 422
    assert club.guest.get(CART).get_json()["type"] == "authentication_required"
    assert member.get(CART).get_json()["tickets"] == []

    assert _add(member, event, tt, 1).status_code == 200
    assert _add(member, other, other_type, 1).status_code == 200   # a cart may hold several showings
    assert [(line["showing"]["id"], line["count"]) for line in member.get(CART).get_json()["tickets"]] == [
        (event, 1), (other, 1)]


def test_stale_items_are_reported_once_and_leave_the_cart(club):
    event = make_event(club, name="Gala")
    tt = make_type(club, event, name="Normal", capacity=5)
    ends = make_type(club, event, name="Early", capacity=5)
    member = club.customer()
    assert _add(member, event, tt, 5).status_code == 200
    assert _add(member, event, ends, 2).status_code == 200

    sold = club.guest.post("/client/events/tickets/purchase", json=guest_purchase(club, event, [(tt, 2)]))
    assert sold.status_code == 201
    past = iso(-dt.timedelta(minutes=1))
    assert club.staff.patch(f"/events/ticket-types/{ends}", json={"saleEnd": past}).status_code == 200

    cart = member.get(CART).get_json()
    assert [(line["type"], line["count"]) for line in cart["tickets"]] == [("Normal", 3)]
    assert sorted((s["type"], s["count"], s["reason"]) for s in cart["stale"]) == [
        ("Early", 2, "sale_ended"), ("Normal", 2, "sold_out")]
    assert {s["showing"] for s in cart["stale"]} == {event}
    assert all(s["event"] == {"id": event, "name": "Gala"} for s in cart["stale"])
    assert member.get(CART).get_json() == {"tickets": cart["tickets"], "stale": []}   # reported once

    assert club.staff.patch(f"/events/{event}", json={"archived_at": iso(dt.timedelta(0))}).status_code == 200
    cancelled = member.get(CART).get_json()
    assert cancelled["tickets"] == [] and [(s["count"], s["reason"]) for s in cancelled["stale"]] == [
        (3, "event_cancelled")]


def test_free_checkout_issues_the_tickets_at_once_and_empties_the_cart(club):
    event = make_event(club, name="Open Rehearsal")
    tt = make_type(club, event, name="Free seat", price=0, capacity=10)
    member = club.customer(name="Ada Lovelace")
    assert _add(member, event, tt, 2).status_code == 200

    answer = member.post(CHECKOUT, json={})
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json() == {"success": True, "sold_free_tickets": True}
    assert counters(event, tt) == {"event_sold": 2, "event_held": 0, "tickets": 2, "sold": 2, "held": 0}
    assert member.get(CART).get_json() == {"tickets": [], "stale": []}

    mine = member.get(TICKETS).get_json()
    assert len(mine) == 2
    ticket = mine[0]
    assert set(ticket) == {"id", "showing", "event", "type", "owner", "attended", "price", "currency"}
    assert ticket["event"] == {"id": event, "name": "Open Rehearsal"} and ticket["showing"]["id"] == event
    assert (ticket["type"], ticket["owner"], ticket["attended"], ticket["price"]) == (
        "Free seat", "Ada Lovelace", False, "0.00")
    assert member.get(f"{TICKETS}{ticket['id']}/").get_json() == ticket

    again = member.post(CHECKOUT, json={})
    assert again.status_code == 400 and again.get_json()["type"] == "cart_empty"
    assert counters(event, tt)["tickets"] == 2


def test_a_stale_cart_at_checkout_is_403_with_the_stale_list_and_holds_nothing(club):
    event = make_event(club, name="Finale")
    tt = make_type(club, event, name="Normal", price=0, capacity=3)
    member = club.customer()
    assert _add(member, event, tt, 3).status_code == 200
    assert club.guest.post("/client/events/tickets/purchase",
                           json=guest_purchase(club, event, [(tt, 1)])).status_code == 201

    refused = member.post(CHECKOUT, json={})
    assert refused.status_code == 403
    body = refused.get_json()
    assert body["type"] == "cart_stale" and body["success"] is False and body["detail"]
    assert [(s["type"], s["showing"], s["event"]["name"], s["count"]) for s in body["stale"]] == [
        ("Normal", event, "Finale", 1)]
    assert counters(event, tt) == {"event_sold": 1, "event_held": 0, "tickets": 1, "sold": 1, "held": 0}
    assert [line["count"] for line in member.get(CART).get_json()["tickets"]] == [2]

    assert member.post(CHECKOUT, json={}).get_json()["sold_free_tickets"] is True
    assert counters(event, tt)["tickets"] == 3


def test_a_session_of_a_parent_is_a_showing_and_tickets_name_the_parent(club):
    start = dt.datetime.now(dt.UTC) + dt.timedelta(days=20)
    body = {"type": "parent", "name": "Festival", "published_at": iso(-dt.timedelta(minutes=5)),
            "sessions": [{"name": "Night 1", "starts_at": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                          "ends_at": (start + dt.timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                          "published_at": iso(-dt.timedelta(minutes=5))}]}
    created = club.staff.post("/events", json={"event": body})
    assert created.status_code == 201, created.get_json()
    parent = club.staff.get(f"/events/{created.get_json()['data']['id']}?include=sessions").get_json()["data"]
    session = parent["sessions"][0]["id"]
    tt = make_type(club, session, name="Night pass", price=0, capacity=5)
    member = club.customer()
    assert _add(member, session, tt, 1).status_code == 200
    assert member.get(CART).get_json()["tickets"][0]["event"] == {"id": parent["id"], "name": "Festival"}
    assert member.post(CHECKOUT, json={}).get_json()["sold_free_tickets"] is True
    [ticket] = member.get(TICKETS).get_json()
    assert ticket["showing"]["id"] == session and ticket["event"] == {"id": parent["id"], "name": "Festival"}


def test_the_qr_is_the_owners_only_and_scans_at_the_door(club):
    event = make_event(club)
    tt = make_type(club, event, price=0, capacity=5)
    member = club.customer()
    assert _add(member, event, tt, 1).status_code == 200
    assert member.post(CHECKOUT, json={}).status_code == 200
    [ticket] = member.get(TICKETS).get_json()

    png = member.get(f"{TICKETS}{ticket['id']}/qr/")
    assert png.status_code == 200 and png.mimetype == "image/png"
    [code] = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.data)))
    stranger = club.customer()
    assert stranger.get(f"{TICKETS}{ticket['id']}/qr/").status_code == 404
    assert stranger.get(f"{TICKETS}{ticket['id']}/").get_json()["type"] == "ticket_not_found"

    scanned = club.staff.post("/events/check-in", json={"qrPayload": code.text})
    assert scanned.status_code == 200, scanned.get_json()
    assert member.get(f"{TICKETS}{ticket['id']}/").get_json()["attended"] is True


def test_routes_are_the_clubs_own_and_need_the_plugin(club, other_tenant):
    event = make_event(club)
    tt = make_type(club, event, price=0)
    member = club.customer()
    assert _add(member, event, tt, 1).status_code == 200
    assert member.post(CHECKOUT, json={}).status_code == 200
    [ticket] = member.get(TICKETS).get_json()

    other_tenant.enable("club_cart")
    outsider = other_tenant.customer()
    assert outsider.get(f"{TICKETS}{ticket['id']}/").status_code == 404
    assert outsider.get(f"{TICKETS}{ticket['id']}/qr/").status_code == 404
    assert _add(outsider, event, tt, 1).get_json()["type"] == "showing_not_found"
    crossed = outsider.as_token(member.token)
    assert crossed.get(CART).status_code == 403

    from conftest import make_tenant

    without = make_tenant(club.app, "No club")
    closed = without.customer().get(CART)
    assert closed.status_code == 404 and closed.get_json()["type"] == "plugin_not_enabled"
    assert closed.get_json()["detail"]


def test_a_checkout_pending_payment_keeps_its_seats_out_of_stale(club):
    """A free cart never waits; this checks the stale rule against a held booking of the member's own, made
    the way a paid checkout makes it (the booking service's hold), with the cart pointing at it."""
    from plugins.club_cart.models import Cart

    event = make_event(club)
    tt = make_type(club, event, price=5, capacity=2)
    member = club.customer()
    assert _add(member, event, tt, 2).status_code == 200
    held = club.staff.post("/events/tickets/purchase", json={**guest_purchase(club, event, [(tt, 2)]),
                                                            "paymentGateway": "offline"})
    assert held.status_code == 201, held.get_json()
    booking = held.get_json()["bookingId"]
    with database.db.connection_context():
        Cart.update(checkout_booking_id=booking).where(Cart.customer_id == member.customer_id).execute()
    assert member.get(CART).get_json()["stale"] == []
    with database.db.connection_context():
        Booking.update(expires_at=utcnow() - dt.timedelta(minutes=1)).where(Booking.id == booking).execute()
    assert member.get(CART).get_json()["stale"] == []   # expired: the overdue hold gives its seats back first
    assert counters(event, tt)["held"] == 0


# --- officers, attendance, transfer to a username (the core's officer role and transfers) ---------------------

def _bought(club, member, *, name="Show", **type_fields):
    """One free ticket bought through the member's cart; its 004 view."""
    event = make_event(club, name=name)
    tt = make_type(club, event, price=0, capacity=5, **type_fields)
    assert _add(member, event, tt, 1).status_code == 200
    assert member.post(CHECKOUT, json={}).status_code == 200
    [ticket] = member.get(TICKETS).get_json()
    return ticket


def _qr_text(member, ticket_id):
    png = member.get(f"{TICKETS}{ticket_id}/qr/")
    assert png.status_code == 200
    return zxingcpp.read_barcodes(Image.open(io.BytesIO(png.data)))[0].text


def test_officers_see_the_clubs_tickets_and_set_attendance_both_ways(club):
    from core.models import CheckIn

    member = club.customer(name="Member One")
    ticket = _bought(club, member)
    path = f"{TICKETS}{ticket['id']}/"
    officer = club.customer(name="Door Officer")
    assert officer.post(f"{path}attendance/", json={"attended": True}).get_json()["type"] == "forbidden_role"
    assert officer.get(path).status_code == 404          # not an officer yet: only their own tickets
    assert club.staff.put(f"/org/officers/{officer.customer_id}").status_code == 200

    assert officer.get(path).get_json() == ticket
    marked = officer.post(f"{path}attendance/", json={"attended": True})
    assert marked.status_code == 200 and marked.get_json()["attended"] is True
    assert officer.post(f"{path}attendance/", json={"attended": True}).get_json()["attended"] is True  # no-op
    assert member.get(path).get_json()["attended"] is True
    unmarked = officer.post(f"{path}attendance/", json={"attended": False})
    assert unmarked.status_code == 200 and unmarked.get_json()["attended"] is False
    assert officer.post(f"{path}attendance/", json={"attended": False}).get_json()["attended"] is False
    with database.db.connection_context():
        log = [(row.result, row.staff) for row in CheckIn.select().where(CheckIn.ticket == ticket["id"])
               .order_by(CheckIn.created_at)]
    assert [result for result, _ in log] == ["admitted", "undone"]   # marking it twice scanned it once
    assert log[-1] == ("undone", officer.customer_id)

    assert member.post(f"{path}attendance/", json={"attended": True}).get_json()["type"] == "forbidden_role"
    bad = officer.post(f"{path}attendance/", json={"attended": "maybe"})
    assert bad.status_code == 422 and bad.get_json()["detail"]
    assert officer.post(f"{TICKETS}no-such-ticket/attendance/", json={"attended": True}).status_code == 404
    scanned = club.staff.post("/events/check-in", json={"qrPayload": _qr_text(member, ticket["id"])})
    assert scanned.status_code == 200   # undone: the same QR admits again

    assert club.staff.delete(f"/org/officers/{officer.customer_id}").status_code == 200
    revoked = officer.post(f"{path}attendance/", json={"attended": False})
    assert revoked.status_code == 403 and revoked.get_json()["type"] == "forbidden_role"
    assert officer.get(path).status_code == 404


def test_a_member_transfers_a_ticket_to_a_username_at_once(club):
    member = club.customer(name="Sender")
    ticket = _bought(club, member)
    old_qr = _qr_text(member, ticket["id"])
    registered = club.guest.post("/client/auth/register", json={
        "email": "bob@example.com", "password": "correct-horse-9", "name": "Bob Builder", "username": "bob_club"})
    assert registered.status_code == 201, registered.get_json()
    bob = club.guest.as_token(registered.get_json()["token"])

    assert member.post(f"{TICKETS}{ticket['id']}/transfer/", json={"username": "nobody"}).get_json()["type"] == \
        "customer_not_found"
    assert bob.post(f"{TICKETS}{ticket['id']}/transfer/", json={"username": "bob_club"}).status_code == 404
    moved = member.post(f"{TICKETS}{ticket['id']}/transfer/", json={"username": "BOB_club"})
    assert moved.status_code == 200 and moved.get_json()["detail"]
    assert member.get(TICKETS).get_json() == []
    [received] = bob.get(TICKETS).get_json()
    assert received["id"] != ticket["id"] and received["owner"] == "Bob Builder"
    refused = club.staff.post("/events/check-in", json={"qrPayload": old_qr})
    assert refused.status_code == 409 and refused.get_json()["type"] == "ticket_revoked"
    assert club.staff.post("/events/check-in", json={"qrPayload": _qr_text(bob, received["id"])}).status_code == 200

    kept = _bought(club, member, name="Members only", transferable=False)
    fixed = member.post(f"{TICKETS}{kept['id']}/transfer/", json={"username": "bob_club"})
    assert fixed.status_code == 409 and fixed.get_json()["type"] == "not_transferable"
    assert [t["id"] for t in member.get(TICKETS).get_json()] == [kept["id"]]


def test_a_club_on_its_own_hostname_needs_no_orgid(club, operator):
    host = f"tickets.{club.orgid}.example"
    assert operator.post(f"/operator/tenants/{club.orgid}/domains", json={"hostname": host}).status_code == 201
    member = club.customer()
    event = make_event(club)
    tt = make_type(club, event, price=0)
    headers = {"Authorization": f"Bearer {member.token}"}
    added = member.flask.post(ADD, json={"showing": event, "type": tt, "count": 1}, headers=headers,
                              base_url=f"http://{host}")
    assert added.status_code == 200, added.get_json()
    assert member.flask.post(CHECKOUT, json={}, headers=headers, base_url=f"http://{host}").get_json() == {
        "success": True, "sold_free_tickets": True}
    assert len(member.flask.get(TICKETS, headers=headers, base_url=f"http://{host}").get_json()) == 1

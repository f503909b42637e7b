"""004's paid flow end to end: a member's cart checked out to the loopback CyberSource hosted page, its signed
callback posted (server to server, no token or `orgid`) to /api/tickets/payment_complete/, tickets and the QR
e-mail at the loopback SMTP server; declines, forged and replayed callbacks, a late payment refunded."""

from __future__ import annotations

import io
import secrets
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import zxingcpp
from fakes.checks import booking_row, enable_gateway, fake_fixtures, ticket_ids
from fakes.cybersource_server import FakeCyberSource, sign
from PIL import Image
from smtp_server import SmtpServer
from test_purchase_support import age_booking, counters, guest_purchase, make_event, make_type

from core import db as database
from core.models import Booking, Payment, Refund

fake_server, fake = fake_fixtures(FakeCyberSource)

CART = "/api/tickets/cart/"
ADD = "/api/tickets/cart/add/"
CHECKOUT = "/api/tickets/initiate_checkout/"
CALLBACK = "/api/tickets/payment_complete/"
TICKETS = "/api/tickets/"


@pytest.fixture
def smtp():
    server = SmtpServer().start()
    yield server
    server.stop()


def _paid_club(tenant, fake, live_server):
    """`tenant` with the cart and CyberSource (a profile at the fake whose Merchant POST URL is the cart's
    callback, REST credentials for refunds)."""
    tenant.enable("club_cart")
    settings = {"profile_id": "P" + secrets.token_hex(6).upper(), "access_key": secrets.token_hex(16),
                "secret_key": secrets.token_hex(64), "hosted_url": fake.url + "/pay", "merchant_id": "club_1",
                "rest_key_id": secrets.token_hex(8), "rest_shared_secret": "c2VjcmV0LXNoYXJlZC1rZXktMzItYnl0ZXMhIQ==",
                "api_base": fake.url, "timeout": "2"}
    fake.add_profile(settings["profile_id"], settings["access_key"], settings["secret_key"],
                     live_server.url + CALLBACK)
    fake.add_rest_key(settings["merchant_id"], settings["rest_key_id"], settings["rest_shared_secret"])
    enable_gateway(tenant, "cybersource", settings, {})
    tenant.secret_key = settings["secret_key"]
    return tenant


@pytest.fixture
def club(tenant, fake, live_server, smtp):
    """A club with the cart, CyberSource and e-mails through the loopback SMTP server."""
    _paid_club(tenant, fake, live_server)
    tenant.enable("notifications")
    tenant.configure("notifications", smtp_host="127.0.0.1", smtp_port=str(smtp.port),
                     sender="Club <tickets@club.test>")
    return tenant


def _checkout(member, event, tt, count):
    assert member.post(ADD, json={"showing": event, "type": tt, "count": count}).status_code == 200
    answer = member.post(CHECKOUT, json={})
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def _pay(answer, fake, decision="ACCEPT", **changes) -> dict:
    """The member's browser posts payment_params to cybersource_url; the fake's result (its signed callback and
    the Merchant POST's delivery to the cart's callback)."""
    fake.decision, fake.callback_changes = decision, changes
    posted = requests.post(answer["cybersource_url"], data=answer["payment_params"], timeout=30)
    assert posted.status_code == 200, posted.text
    return posted.json()


def _paid_not_delivered(club, fake, count):
    """A member's checkout of `count` tickets paid at the hosted page, its callback kept rather than posted:
    (member, event, ticket type, the page's result with the signed callback, booking id)."""
    event = make_event(club)
    tt = make_type(club, event, price="20.00", capacity=5)
    member = club.customer()
    answer = _checkout(member, event, tt, count)
    fake.deliver = False
    return member, event, tt, _pay(answer, fake), answer["payment_params"]["reference_number"]


def _callback(club, form):
    """The callback as a browser (or CyberSource) posts it: form-encoded, no token, no orgid."""
    return club.guest.as_token(None).flask.post(CALLBACK, data=form)


def test_the_paid_flow_end_to_end(club, fake, smtp):
    """Cart with a stale item, checkout (403, then the signed form), the hosted page, the signed callback,
    tickets and QR e-mail, the cart emptied, a replayed callback changing nothing."""
    event = make_event(club, name="Winter Concert")
    tt = make_type(club, event, name="Normal", price="20.00", capacity=10)
    vip = make_type(club, event, name="VIP", price="50.00", capacity=1)
    member = club.customer(name="Grace Hopper")
    assert member.post(ADD, json={"showing": event, "type": tt, "count": 2}).status_code == 200
    assert member.post(ADD, json={"showing": event, "type": vip, "count": 1}).status_code == 200
    assert club.guest.post("/client/events/tickets/purchase", json=guest_purchase(
        club, event, [(vip, 1)], paymentGateway="offline")).status_code == 201   # the VIP seat went elsewhere

    stale = member.post(CHECKOUT, json={})
    assert stale.status_code == 403 and [s["type"] for s in stale.get_json()["stale"]] == ["VIP"]
    assert counters(event, tt)["held"] == 0
    answer = member.post(CHECKOUT, json={}).get_json()
    assert answer["success"] is True and answer["sold_free_tickets"] is False
    params = answer["payment_params"]
    assert params["amount"] == "40.00" and params["currency"] == "USD" and params["transaction_type"] == "sale"
    assert params["signature"] == sign(club.secret_key, params)   # Secure Acceptance's signature, recomputed here
    assert counters(event, tt)["held"] == 2
    assert member.post(CHECKOUT, json={}).get_json() == answer   # a double click: the same booking and form
    booking = params["reference_number"]

    result = _pay(answer, fake)
    assert result["decision"] == "ACCEPT"
    assert result["delivered"]["status"] == 200, result["delivered"]
    assert result["delivered"]["body"] and '"success":true' in result["delivered"]["body"].replace(" ", "")
    assert booking_row(booking).status == "confirmed"
    assert counters(event, tt) == {"event_sold": 2, "event_held": 1, "tickets": 2, "sold": 2, "held": 0}  # VIP: held
    mine = member.get(TICKETS).get_json()
    assert [(t["type"], t["owner"], t["price"], t["attended"]) for t in mine] == [
        ("Normal", "Grace Hopper", "20.00", False)] * 2
    assert member.get(CART).get_json() == {"tickets": [], "stale": []}

    [mail] = smtp.event_messages
    assert mail["To"] == member.email
    pngs = [part.get_content() for part in mail.walk() if part.get_content_type() == "image/png"]
    assert len(pngs) == 2
    mailed = {zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))[0].text for png in pngs}
    served = {zxingcpp.read_barcodes(Image.open(io.BytesIO(member.get(f"{TICKETS}{t['id']}/qr/").data)))[0].text
              for t in mine}
    assert mailed == served

    replay = _callback(club, result["callback"])   # the browser's copy of the same callback
    assert replay.status_code == 200 and replay.get_json()["success"] is True
    assert len(ticket_ids(booking)) == 2 and len(smtp.event_messages) == 1
    with database.db.connection_context():
        assert Payment.select().where(Payment.booking == booking).count() == 1


@pytest.mark.parametrize("decision", ["DECLINE", "CANCEL", "ERROR"])
def test_a_failed_payment_releases_the_holds_at_once_and_the_cart_checks_out_again(club, fake, decision):
    event = make_event(club)
    tt = make_type(club, event, price="15.00", capacity=4)
    member = club.customer()
    answer = _checkout(member, event, tt, 3)
    assert counters(event, tt)["held"] == 3
    result = _pay(answer, fake, decision)
    assert result["delivered"]["status"] == 200, result["delivered"]
    assert '"success":false' in result["delivered"]["body"].replace(" ", "")
    assert counters(event, tt) == {"event_sold": 0, "event_held": 0, "tickets": 0, "sold": 0, "held": 0}
    assert booking_row(answer["payment_params"]["reference_number"]).status in ("expired", "cancelled")
    assert [line["count"] for line in member.get(CART).get_json()["tickets"]] == [3]

    again = member.post(CHECKOUT, json={}).get_json()
    assert again["payment_params"]["reference_number"] != answer["payment_params"]["reference_number"]
    assert counters(event, tt)["held"] == 3


def test_forged_and_unknown_callbacks_are_refused_and_change_nothing(club, fake, other_tenant):
    member, event, tt, result, booking = _paid_not_delivered(club, fake, 1)

    tampered = dict(result["callback"], req_amount="0.01")
    forged = _callback(club, tampered)
    assert forged.status_code == 400 and forged.get_json()["type"] == "invalid_signature"
    assert forged.get_json()["detail"]
    resigned = dict(tampered, signature=sign("not-the-club-secret", tampered))
    assert _callback(club, resigned).get_json()["type"] == "invalid_signature"
    unknown = _callback(club, dict(result["callback"], req_reference_number=secrets.token_hex(8)))
    assert unknown.status_code == 400 and unknown.get_json()["type"] == "invalid_callback"
    assert _callback(club, {}).get_json()["type"] == "invalid_callback"
    assert booking_row(booking).status == "pending" and ticket_ids(booking) == []
    assert counters(event, tt)["held"] == 1

    accepted = _callback(club, result["callback"])
    assert accepted.status_code == 200 and accepted.get_json()["success"] is True
    assert len(ticket_ids(booking)) == 1


def test_a_late_callback_after_the_seats_were_sold_is_refunded(club, fake):
    event = make_event(club)
    tt = make_type(club, event, price="25.00", capacity=2)
    member = club.customer()
    answer = _checkout(member, event, tt, 2)
    booking = answer["payment_params"]["reference_number"]
    age_booking(booking)
    from core.services import holds

    with database.db.connection_context():
        assert holds.expire_holds_job() >= 1
    taken = club.guest.post("/client/events/tickets/purchase",
                            json=guest_purchase(club, event, [(tt, 2)], paymentGateway="offline"))
    assert taken.status_code == 201, taken.get_json()

    fake.deliver = False
    result = _pay(answer, fake)
    for _ in range(2):   # and its replay: refunded once
        late = _callback(club, result["callback"])
        assert late.status_code == 409, late.get_json()
        assert late.get_json()["type"] == "hold_expired" and late.get_json()["refunded"] is True
    [call] = fake.calls("POST", "/pts/v2/payments/")
    assert call.json["orderInformation"]["amountDetails"] == {"totalAmount": "50.00", "currency": "USD"}
    with database.db.connection_context():
        [refund] = Refund.select().where(Refund.booking == booking)
        assert refund.status == "succeeded" and refund.amount == 5000
        assert Booking.get_by_id(booking).status == "refunded"
    assert ticket_ids(booking) == [] and member.get(TICKETS).get_json() == []


def test_two_callbacks_for_one_booking_at_once_assign_once(club, fake, live_server, smtp):
    member, event, tt, result, booking = _paid_not_delivered(club, fake, 2)

    def post(_):   # CyberSource's Merchant POST and the browser's copy, arriving together (twice each)
        return requests.post(live_server.url + CALLBACK, data=result["callback"], timeout=60)

    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(post, range(4)))
    assert [a.status_code for a in answers] == [200] * 4 and all(a.json()["success"] for a in answers)
    assert len(ticket_ids(booking)) == 2 and len(member.get(TICKETS).get_json()) == 2
    assert counters(event, tt) == {"event_sold": 2, "event_held": 0, "tickets": 2, "sold": 2, "held": 0}
    with database.db.connection_context():
        assert Payment.select().where(Payment.booking == booking).count() == 1
    assert len(smtp.event_messages) == 1


def test_a_checkout_whose_hold_ran_out_is_not_replayed(club, fake):
    event = make_event(club)
    tt = make_type(club, event, price="20.00", capacity=3)
    member = club.customer()
    first = _checkout(member, event, tt, 3)
    age_booking(first["payment_params"]["reference_number"])
    again = member.post(CHECKOUT, json={})
    assert again.status_code == 200, again.get_json()
    assert again.get_json()["payment_params"]["reference_number"] != first["payment_params"]["reference_number"]
    assert booking_row(first["payment_params"]["reference_number"]).status == "expired"
    assert counters(event, tt)["held"] == 3   # the old hold gave its seats back, the new one holds them


def test_the_callback_at_the_clubs_hostname_and_at_another_clubs(club, fake, operator, app):
    from conftest import make_tenant

    host = f"tickets.{club.orgid}.example"
    assert operator.post(f"/operator/tenants/{club.orgid}/domains", json={"hostname": host}).status_code == 201
    rival = make_tenant(app, "Rival club")
    rival.enable("club_cart")
    enable_gateway(rival, "cybersource", {"profile_id": "RIVAL", "access_key": "rival-access",
                                          "secret_key": secrets.token_hex(32), "hosted_url": fake.url + "/pay"}, {})
    rival_host = f"tickets.{rival.orgid}.example"
    assert operator.post(f"/operator/tenants/{rival.orgid}/domains", json={"hostname": rival_host}).status_code == 201

    member, event, tt, result, booking = _paid_not_delivered(club, fake, 1)

    elsewhere = club.guest.flask.post(CALLBACK, data=result["callback"], base_url=f"http://{rival_host}")
    assert elsewhere.status_code == 400 and elsewhere.get_json()["type"] == "invalid_signature"
    assert ticket_ids(booking) == []
    home = club.guest.flask.post(CALLBACK, data=result["callback"], base_url=f"http://{host}")
    assert home.status_code == 200 and home.get_json()["success"] is True
    assert len(ticket_ids(booking)) == 1


def test_200_paid_carts_for_50_seats_hold_50_and_their_payments_sell_50(tenant, fake, live_server):
    from test_club_cart_races import members

    club = _paid_club(tenant, fake, live_server)   # no e-mails: rendering 50 ticket PDFs is not the point here
    event = make_event(club, capacity=50)
    tt = make_type(club, event, price="10.00", capacity=80)
    tokens = members(club, 200)

    def call(token, path, body):
        return requests.post(live_server.url + path, json=body, timeout=120,
                             headers={"orgid": club.orgid, "Authorization": f"Bearer {token}"})

    with ThreadPoolExecutor(max_workers=32) as pool:
        assert {a.status_code for a in pool.map(lambda t: call(t, ADD, {"showing": event, "type": tt, "count": 1}),
                                                tokens)} == {200}
        answers = list(pool.map(lambda t: call(t, CHECKOUT, {}), tokens))
    forms = [a.json() for a in answers if a.status_code == 200]
    assert len(forms) == 50 and {a.status_code for a in answers} == {200, 403}
    assert counters(event, tt) == {"event_sold": 0, "event_held": 50, "tickets": 0, "sold": 0, "held": 50}

    with ThreadPoolExecutor(max_workers=8) as pool:   # every member pays; each callback comes back at once
        paid = list(pool.map(lambda form: _pay(form, fake), forms))
    assert all(p["delivered"]["status"] == 200 for p in paid)
    assert counters(event, tt) == {"event_sold": 50, "event_held": 0, "tickets": 50, "sold": 50, "held": 0}

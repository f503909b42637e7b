"""The pages plugin's waiting-room page: a checkout of an event whose room is on goes through the queue page,
which joins the queue, refreshes itself without JavaScript and forwards to the checkout with the pass; the
checkout's purchase then passes the core's gate, and without the pass it is refused."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from pages_world import concert_club, event_bookings
from test_pages import text
from test_pages_checkout import FORM_KEY, checkout_path
from test_purchase_support import iso

REFRESH = re.compile(r'<meta http-equiv="refresh" content="([^"]+)">')


@pytest.fixture
def club(app):
    """A tenant with pages and offline payments, and its concert (its waiting room is switched on per test)."""
    return concert_club(app)


def _room(club, *, rate: float) -> None:
    response = club.staff.put(f"/events/{club.event['id']}/waiting-room",
                              json={"startsAt": iso(-dt.timedelta(minutes=1)), "ratePerSecond": rate})
    assert response.status_code == 200, response.get_json()


def _queue_path(club) -> str:
    return f"/e/{club.orgid}/{club.event['slug']}/queue"


def test_the_checkout_goes_through_the_queue_page_and_comes_back_with_the_pass(club):
    _room(club, rate=100)
    client = club.app.test_client()
    sent_away = client.get(checkout_path(club))
    assert sent_away.status_code == 303 and sent_away.headers["Location"].endswith(_queue_path(club))
    invitation = client.get(_queue_path(club))
    assert invitation.status_code == 200 and "Join the queue" in text(invitation)
    joined = client.post(_queue_path(club))
    assert joined.status_code == 303 and "?t=" in joined.headers["Location"]
    standing = client.get(joined.headers["Location"])
    assert "It is your turn!" in text(standing)
    forward = html.unescape(REFRESH.search(standing.get_data(as_text=True)).group(1))
    assert forward.startswith("0; url=") and "queuePass=" in forward
    form_page = client.get(forward.removeprefix("0; url="))
    body = form_page.get_data(as_text=True)
    assert form_page.status_code == 200 and 'name="queuePass"' in body
    queue_pass = html.unescape(re.search(r'name="queuePass" value="([^"]+)"', body).group(1))
    form = {"key": FORM_KEY.search(body).group(1), "name": "Ann Lee", "email": "ann@example.com",
            "gateway": "offline", f"qty.{club.types['Free entry']}": "1", "queuePass": queue_pass}
    bought = client.post(checkout_path(club), data=form)
    assert bought.status_code == 303, text(bought)
    [booking] = event_bookings(club.event["id"])
    assert booking.status == "confirmed"
    again = client.post(checkout_path(club), data={**form, "key": "another-key-for-the-same-pass"})
    assert again.status_code == 403 and "join the queue again" in text(again)


def test_a_form_without_the_pass_is_refused_with_a_way_to_the_queue(club):
    _room(club, rate=100)
    client = club.app.test_client()
    refused = client.post(checkout_path(club), data={"key": "k-1", "name": "Ann Lee", "email": "ann@example.com",
                                                     "gateway": "offline", f"qty.{club.types['Free entry']}": "1"})
    assert refused.status_code == 403 and "goes through a queue" in text(refused)
    assert f'href="{_queue_path(club)}"' in refused.get_data(as_text=True)
    assert event_bookings(club.event["id"]) == []


def test_a_waiting_buyer_sees_the_position_and_the_page_refreshes(club):
    _room(club, rate=0.05)   # one admission every 20 s: the first joiner goes in, the second waits
    first, second = club.app.test_client(), club.app.test_client()
    first.post(_queue_path(club))
    standing = second.get(second.post(_queue_path(club)).headers["Location"])
    shown = text(standing)
    assert "1 person ahead of you." not in shown and "0 people ahead of you." in shown
    assert "Estimated wait" in shown
    refresh = int(REFRESH.search(standing.get_data(as_text=True)).group(1))
    assert 2 <= refresh <= 20
    forged = second.get(_queue_path(club) + "?t=forged")
    assert forged.status_code == 404 and "not found" in text(forged)


def test_an_event_without_a_room_keeps_its_plain_checkout(club):
    client = club.app.test_client()
    assert client.get(checkout_path(club)).status_code == 200
    assert client.get(_queue_path(club)).status_code == 303


def test_the_queue_page_speaks_french(club):
    _room(club, rate=100)
    client = club.app.test_client()
    invitation = client.get(_queue_path(club) + "?lang=fr")
    assert "Rejoindre la file d’attente" in text(invitation)
    standing = client.get(client.post(_queue_path(club)).headers["Location"] + "&lang=fr")
    assert "C’est votre tour !" in text(standing)

"""On-sale waiting rooms: the staff switch, the queue's order (random before the start, join order after), the
pass on every customer purchase path (not on staff sales), pass expiry and single use, and no double admission
under concurrent joins; each on both queue backends (database, Redis)."""

from __future__ import annotations

import datetime as dt
import secrets
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
import requests
from test_purchase_support import counters, guest_purchase, iso, make_event, make_type

PURCHASE = "/client/events/tickets/purchase"
REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture(params=["database", "redis"])
def backend(request, config, monkeypatch):
    """The queue in the database, then in a real Redis (its keys under a name of this test's own)."""
    if request.param == "redis":
        client = redis.Redis.from_url(REDIS_URL)
        try:
            client.ping()
        except redis.RedisError as exc:
            pytest.fail(f"Redis is not running at {REDIS_URL}: {exc}")
        prefix = f"boxoffice-test-{secrets.token_hex(4)}"
        monkeypatch.setattr(config, "redis_url", REDIS_URL)
        monkeypatch.setattr(config, "queue_name", prefix)
        from core.services.waiting_room_redis import redis_queue

        redis_queue.cache_clear()
        yield request.param
        redis_queue.cache_clear()
        for key in client.scan_iter(f"{prefix}:*"):
            client.delete(key)
        return
    yield request.param


def _room(tenant, event, *, start: dt.timedelta = -dt.timedelta(minutes=1), rate: float = 100.0, minutes=10,
          starts_at: str | None = None):
    """Switch the room on, starting `start` from now (or at `starts_at`, the same moment for several calls)."""
    response = tenant.staff.put(f"/events/{event}/waiting-room", json={
        "startsAt": starts_at or iso(start), "ratePerSecond": rate, "passMinutes": minutes})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["data"]


def _join(client, event) -> dict:
    response = client.post(f"/client/events/{event}/queue")
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _standing(client, event, token) -> dict:
    response = client.get(f"/client/events/{event}/queue", query_string={"queueToken": token})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _admitted_pass(tenant, event) -> str:
    """A pass as a buyer gets one: join, then (when the previous joiner took the slot one gap ago) read the place
    again until its slot comes, a few milliseconds at the tests' rates."""
    joined = _join(tenant.guest, event)
    deadline = time.monotonic() + 5
    while joined["state"] == "waiting" and time.monotonic() < deadline:
        time.sleep(0.005)
        joined = _standing(tenant.guest, event, joined["queueToken"])
    assert joined["state"] == "admitted", joined
    return joined["queuePass"]


def _event_with_room(tenant, **room):
    event = make_event(tenant, capacity=100)
    tt = make_type(tenant, event, price="10.00", capacity=50)
    free = make_type(tenant, event, name="RSVP", price=0, capacity=50)
    _room(tenant, event, **room)
    return event, tt, free


def test_staff_switch_the_room_on_read_it_and_off(tenant, other_tenant, backend):
    event = make_event(tenant)
    assert tenant.staff.get(f"/events/{event}/waiting-room").get_json()["type"] == "waiting_room_not_found"
    room = _room(tenant, event, start=dt.timedelta(hours=1), rate=2.5, minutes=15)
    assert room["ratePerSecond"] == 2.5 and room["passMinutes"] == 15 and room["started"] is False
    assert room["joined"] == 0 and room["admitted"] == 0
    _join(tenant.guest, event)
    shown = tenant.staff.get(f"/events/{event}/waiting-room").get_json()["data"]
    assert shown["joined"] == 1 and shown["admitted"] == 0 and shown["eventId"] == event
    # changed before the start: fine; a customer may not; another tenant sees nothing
    assert _room(tenant, event, start=dt.timedelta(hours=2), rate=5)["ratePerSecond"] == 5
    assert tenant.customer().put(f"/events/{event}/waiting-room", json={
        "startsAt": iso(dt.timedelta(hours=1)), "ratePerSecond": 1}).status_code == 403
    foreign = other_tenant.staff.get(f"/events/{event}/waiting-room")
    assert foreign.status_code == 404 and foreign.get_json()["type"] == "event_not_found"
    bad = tenant.staff.put(f"/events/{event}/waiting-room", json={"startsAt": iso(dt.timedelta(hours=1)),
                                                                  "ratePerSecond": 0})
    assert bad.status_code == 422 and bad.get_json()["type"] == "validation_error"
    assert tenant.staff.delete(f"/events/{event}/waiting-room").status_code == 204
    assert tenant.staff.get(f"/events/{event}/waiting-room").status_code == 404
    assert tenant.guest.post(f"/client/events/{event}/queue").get_json()["type"] == "waiting_room_not_found"


def test_a_started_room_keeps_its_start_and_rate(tenant, backend):
    event = make_event(tenant)
    started = iso(-dt.timedelta(seconds=5))   # one moment: the same start sent again is no move
    _room(tenant, event, starts_at=started, rate=3)
    moved = tenant.staff.put(f"/events/{event}/waiting-room", json={"startsAt": iso(dt.timedelta(hours=1)),
                                                                    "ratePerSecond": 3})
    assert moved.status_code == 409 and moved.get_json()["type"] == "waiting_room_started"
    longer = _room(tenant, event, starts_at=started, rate=3, minutes=30)
    assert longer["passMinutes"] == 30 and longer["started"] is True


def test_random_order_before_the_start_then_join_order(tenant, backend):
    event = make_event(tenant)
    _room(tenant, event, start=dt.timedelta(hours=1), rate=0.1)
    early = [_join(tenant.guest, event) for _ in range(12)]
    assert {(e["state"], e["position"], e["queuePass"]) for e in early} == {("before_start", None, None)}
    assert all(3500 < e["estimatedWaitSeconds"] <= 3600 for e in early)
    # staff move the start to now (allowed before it came): the early entries' order is drawn at the start
    start_text = _room(tenant, event, start=dt.timedelta(0), rate=0.1)["startsAt"]
    start = dt.datetime.strptime(start_text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    late = [_join(tenant.guest, event) for _ in range(4)]
    standings = [_standing(tenant.guest, event, e["queueToken"]) for e in early + late]
    slots = [dt.datetime.strptime(s["admitsAt"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC) for s in standings]
    # one admission every 10 s from the start: the early ones take the first 12 slots in a random order ...
    ranks = [round((slot - start).total_seconds() / 10) for slot in slots]
    assert sorted(ranks[:12]) == list(range(12)) and ranks[:12] != list(range(12))
    # ... the late ones the next slots, in the order they joined
    assert ranks[12:] == [12, 13, 14, 15]
    assert [s["position"] for s in standings[12:]] == [11, 12, 13, 14]
    first = standings[ranks.index(0)]
    assert first["state"] == "admitted" and first["queuePass"] and first["position"] == 0
    waiting = [s for s in standings if s["state"] == "waiting"]
    assert len(waiting) == 15 and all(s["queuePass"] is None and s["estimatedWaitSeconds"] > 0 for s in waiting)
    shown = tenant.staff.get(f"/events/{event}/waiting-room").get_json()["data"]
    assert (shown["joined"], shown["admitted"], shown["started"]) == (16, 1, True)


def test_a_forged_or_foreign_queue_token_finds_nothing(tenant, other_tenant, backend):
    event, _, _ = _event_with_room(tenant)
    token = _join(tenant.guest, event)["queueToken"]
    for sent in (token[:-2] + "xx", "nonsense"):
        response = tenant.guest.get(f"/client/events/{event}/queue", query_string={"queueToken": sent})
        assert response.status_code == 404 and response.get_json()["type"] == "queue_entry_not_found"
    other_event, _, _ = _event_with_room(other_tenant)
    foreign = other_tenant.guest.get(f"/client/events/{other_event}/queue", query_string={"queueToken": token})
    assert foreign.status_code == 404 and foreign.get_json()["type"] == "queue_entry_not_found"


def test_the_client_purchase_wants_a_pass_that_buys_once(tenant, backend):
    event, tt, _ = _event_with_room(tenant)
    body = guest_purchase(tenant, event, [(tt, 1)])
    missing = tenant.guest.post(PURCHASE, json=body)
    assert missing.status_code == 403 and missing.get_json()["type"] == "queue_pass_required"
    forged = tenant.guest.post(PURCHASE, json=body, headers={"Queue-Pass": "eyJmYWtlIjoxfQ.forged.sig"})
    assert forged.status_code == 403 and forged.get_json()["type"] == "queue_pass_invalid"
    assert counters(event, tt)["held"] == 0
    queue_pass = _admitted_pass(tenant, event)
    bought = tenant.guest.post(PURCHASE, json=body, headers={"Queue-Pass": queue_pass})
    assert bought.status_code == 201, bought.get_json()
    again = tenant.guest.post(PURCHASE, json=body, headers={"Queue-Pass": queue_pass})
    assert again.status_code == 403 and again.get_json()["type"] == "queue_pass_invalid"
    assert again.get_json()["reason"] == "used"
    assert counters(event, tt)["held"] == 1


def test_a_refused_purchase_keeps_the_pass(tenant, backend):
    event, tt, _ = _event_with_room(tenant)
    queue_pass = _admitted_pass(tenant, event)
    too_many = tenant.guest.post(PURCHASE, json=guest_purchase(tenant, event, [(tt, 51)]),
                                 headers={"Queue-Pass": queue_pass})
    assert too_many.status_code == 409 and too_many.get_json()["type"] == "sold_out"
    ok = tenant.guest.post(PURCHASE, json=guest_purchase(tenant, event, [(tt, 2)]), headers={"Queue-Pass": queue_pass})
    assert ok.status_code == 201, ok.get_json()


def test_a_pass_is_for_its_own_event_and_room(tenant, backend):
    event, tt, _ = _event_with_room(tenant)
    other, other_tt, _ = _event_with_room(tenant)
    foreign_pass = _admitted_pass(tenant, other)
    refused = tenant.guest.post(PURCHASE, json=guest_purchase(tenant, event, [(tt, 1)]),
                                headers={"Queue-Pass": foreign_pass})
    assert refused.status_code == 403 and refused.get_json()["reason"] == "not_valid"
    # several passes in one header: the event's own is found
    both = f"{foreign_pass}, {_admitted_pass(tenant, event)}"
    assert tenant.guest.post(PURCHASE, json=guest_purchase(tenant, event, [(tt, 1)]),
                             headers={"Queue-Pass": both}).status_code == 201
    # switched off and on again: an old pass is for the old room
    old = _admitted_pass(tenant, other)
    tenant.staff.delete(f"/events/{other}/waiting-room")
    _room(tenant, other)
    stale = tenant.guest.post(PURCHASE, json=guest_purchase(tenant, other, [(other_tt, 1)]),
                              headers={"Queue-Pass": old})
    assert stale.status_code == 403 and stale.get_json()["reason"] == "not_valid"


def test_an_expired_pass_is_refused(tenant, app):
    from core.models import Event
    from core.services.queue_passes import issue_pass

    event, tt, _ = _event_with_room(tenant)
    with app.app_context():
        from core import db as database

        with database.db.connection_context():
            room_id = Event.select().where((Event.org == tenant.orgid) & (Event.id == event)).get().waiting_room_id
        expired = issue_pass(tenant.orgid, event, room_id, "entry-1", time.time() - 1)
        fresh = issue_pass(tenant.orgid, event, room_id, "entry-2", time.time() + 60)
    refused = tenant.guest.post(PURCHASE, json=guest_purchase(tenant, event, [(tt, 1)]),
                                headers={"Queue-Pass": expired})
    assert refused.status_code == 403 and refused.get_json()["type"] == "queue_pass_invalid"
    assert refused.get_json()["reason"] == "expired"
    assert tenant.guest.post(PURCHASE, json=guest_purchase(tenant, event, [(tt, 1)]),
                             headers={"Queue-Pass": fresh}).status_code == 201


def test_registration_and_form_posts_are_gated_too(tenant, backend):
    event, _, free = _event_with_room(tenant)
    body = {"eventId": event, "ticketTypeId": free, "email": "sam@example.com", "name": "Sam"}
    refused = tenant.guest.post("/client/events/tickets/register", json=body)
    assert refused.status_code == 403 and refused.get_json()["type"] == "queue_pass_required"
    done = tenant.guest.post("/client/events/tickets/register", json=body,
                             headers={"Queue-Pass": _admitted_pass(tenant, event)})
    assert done.status_code == 201 and done.get_json()["status"] == "confirmed"


def test_staff_sales_and_events_without_a_room_need_no_pass(tenant, backend):
    event, tt, _ = _event_with_room(tenant)
    box_office = tenant.staff.post("/events/tickets/purchase", json=guest_purchase(tenant, event, [(tt, 1)]))
    assert box_office.status_code == 201, box_office.get_json()
    plain = make_event(tenant)
    plain_tt = make_type(tenant, plain, price="5.00")
    assert tenant.guest.post(PURCHASE, json=guest_purchase(tenant, plain, [(plain_tt, 1)])).status_code == 201
    tenant.staff.delete(f"/events/{event}/waiting-room")
    assert tenant.guest.post(PURCHASE, json=guest_purchase(tenant, event, [(tt, 1)])).status_code == 201


def test_the_storefront_checkout_is_gated(tenant, backend):
    tenant.enable("storefront")
    event, tt, _ = _event_with_room(tenant)
    body = guest_purchase(tenant, event, [(tt, 1)])
    refused = tenant.guest.post("/client/store/checkout", json=body)
    assert refused.status_code == 403 and refused.get_json()["type"] == "queue_pass_required"
    ok = tenant.guest.post("/client/store/checkout", json=body, headers={"Queue-Pass": _admitted_pass(tenant, event)})
    assert ok.status_code == 201, ok.get_json()


def test_concurrent_joins_get_distinct_slots_and_a_pass_buys_once(live_server, tenant, backend):
    event, tt, _ = _event_with_room(tenant, rate=1.0)
    url = f"{live_server.url}/client/events/{event}/queue"
    headers = {"orgid": tenant.orgid}

    def join(_):
        response = requests.post(url, headers=headers, timeout=30)
        assert response.status_code == 201, response.text
        return response.json()

    with ThreadPoolExecutor(16) as pool:
        joined = list(pool.map(join, range(40)))
    admits = sorted(e["admitsAt"] for e in joined)
    assert len(set(admits)) == 40   # one admission a second: 40 different seconds, nobody shares a slot
    assert tenant.staff.get(f"/events/{event}/waiting-room").get_json()["data"]["joined"] == 40
    queue_pass = next(e["queuePass"] for e in joined if e["state"] == "admitted")
    body = guest_purchase(tenant, event, [(tt, 1)])

    def buy(_):
        return requests.post(f"{live_server.url}{PURCHASE}", json=body, timeout=30,
                             headers={**headers, "Queue-Pass": queue_pass}).status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = sorted(pool.map(buy, range(8)))
    assert statuses == [201] + [403] * 7
    assert counters(event, tt)["held"] == 1


def test_the_club_cart_checkout_is_gated(tenant, backend):
    tenant.enable("club_cart")
    event, _, free = _event_with_room(tenant)
    member = tenant.customer(name="Ada Lovelace")
    assert member.post("/api/tickets/cart/add/", json={"showing": event, "type": free, "count": 2}).status_code == 200
    refused = member.post("/api/tickets/initiate_checkout/", json={})
    assert refused.status_code == 403 and refused.get_json()["type"] == "queue_pass_required"
    assert counters(event, free)["tickets"] == 0
    done = member.post("/api/tickets/initiate_checkout/", json={},
                       headers={"Queue-Pass": _admitted_pass(tenant, event)})
    assert done.status_code == 200 and done.get_json() == {"success": True, "sold_free_tickets": True}
    assert counters(event, free)["tickets"] == 2


def test_another_tenants_pass_opens_nothing(tenant, other_tenant, backend):
    event, tt, _ = _event_with_room(tenant)
    other_event, _, _ = _event_with_room(other_tenant)
    theirs = tenant.guest.post(PURCHASE, json=guest_purchase(tenant, event, [(tt, 1)]),
                               headers={"Queue-Pass": _admitted_pass(other_tenant, other_event)})
    assert theirs.status_code == 403 and theirs.get_json()["type"] == "queue_pass_invalid"
    assert theirs.get_json()["reason"] == "not_valid"


def test_a_redis_that_does_not_answer_is_a_503_that_changes_nothing(tenant, config, monkeypatch):
    from core.services.waiting_room_redis import redis_queue

    event, tt, _ = _event_with_room(tenant)
    monkeypatch.setattr(config, "redis_url", "redis://127.0.0.1:1/0")   # nothing listens on port 1
    redis_queue.cache_clear()
    try:
        down = tenant.guest.post(f"/client/events/{event}/queue")
        assert down.status_code == 503 and down.get_json()["type"] == "queue_unavailable"
        assert tenant.staff.get(f"/events/{event}/waiting-room").status_code == 503
    finally:
        redis_queue.cache_clear()
    refused = tenant.guest.post(PURCHASE, json=guest_purchase(tenant, event, [(tt, 1)]))
    assert refused.status_code == 403 and counters(event, tt)["held"] == 0


def test_switching_a_room_on_changing_it_and_off_is_audited(tenant):
    event = make_event(tenant)
    in_an_hour = iso(dt.timedelta(hours=1))   # one moment: a second turning between the calls changes nothing
    _room(tenant, event, starts_at=in_an_hour, rate=2)
    _room(tenant, event, starts_at=in_an_hour, rate=2)   # nothing changed: no row
    _room(tenant, event, starts_at=in_an_hour, rate=5, minutes=20)
    tenant.staff.delete(f"/events/{event}/waiting-room")
    rows = tenant.staff.get("/org/audit", query_string={"recordId": event}).get_json()["data"]
    assert len(rows) == 3
    made, changed, removed = rows[::-1]   # the log lists the newest first
    assert [row["action"] for row in (made, changed, removed)] == [
        "waiting_room.set", "waiting_room.set", "waiting_room.removed"]
    assert made["before"] is None and made["after"]["ratePerSecond"] == 2
    assert changed["before"] == {"ratePerSecond": 2.0, "passMinutes": 10}
    assert changed["after"] == {"ratePerSecond": 5.0, "passMinutes": 20}
    assert removed["after"] is None and removed["before"]["ratePerSecond"] == 5

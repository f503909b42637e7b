"""Idempotency-Key: same key + body replays the first answer, another body is 422, concurrent repeats run once."""

from __future__ import annotations

import threading

from test_purchase_support import counters, guest_purchase, make_event, make_type

PURCHASE = "/client/events/tickets/purchase"


def test_same_key_replays_the_first_response(tenant):
    event = make_event(tenant)
    tt = make_type(tenant, event, price=5, capacity=10)
    body = guest_purchase(tenant, event, [(tt, 2)])
    first = tenant.guest.post(PURCHASE, json=body, headers={"Idempotency-Key": "k-1"})
    again = tenant.guest.post(PURCHASE, json=body, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 201
    assert "Idempotent-Replayed" not in first.headers and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert counters(event, tt)["held"] == 2
    other = tenant.guest.post(PURCHASE, json=guest_purchase(tenant, event, [(tt, 3)]),
                              headers={"Idempotency-Key": "k-1"})
    assert other.status_code == 422 and other.get_json()["type"] == "idempotency_mismatch"
    fresh = tenant.guest.post(PURCHASE, json=body, headers={"Idempotency-Key": "k-2"})
    assert fresh.get_json()["bookingId"] != first.get_json()["bookingId"]
    assert counters(event, tt)["held"] == 4


def test_errors_are_replayed_and_keys_are_per_tenant_and_endpoint(tenant, other_tenant):
    event = make_event(tenant)
    tt = make_type(tenant, event, price=5, capacity=1)
    body = guest_purchase(tenant, event, [(tt, 2)])
    sold_out = tenant.guest.post(PURCHASE, json=body, headers={"Idempotency-Key": "same"})
    replay = tenant.guest.post(PURCHASE, json=body, headers={"Idempotency-Key": "same"})
    assert sold_out.status_code == replay.status_code == 409
    assert replay.get_json() == sold_out.get_json() and replay.headers["Idempotent-Replayed"] == "true"
    other_event = make_event(other_tenant)
    other_tt = make_type(other_tenant, other_event)
    theirs = other_tenant.guest.post(PURCHASE, json=guest_purchase(other_tenant, other_event, [(other_tt, 1)]),
                                     headers={"Idempotency-Key": "same"})
    assert theirs.status_code == 201 and "Idempotent-Replayed" not in theirs.headers
    confirm = tenant.guest.post("/client/events/tickets/confirm-order", json={"bookingId": "x"},
                                headers={"Idempotency-Key": "same"})
    assert confirm.status_code == 404


def test_validation_errors_release_the_key_and_bad_keys_are_refused(tenant):
    event = make_event(tenant)
    tt = make_type(tenant, event)
    body = guest_purchase(tenant, event, [(tt, 1)])
    invalid = tenant.guest.post(PURCHASE, json=dict(body, evil=1), headers={"Idempotency-Key": "v-1"})
    assert invalid.status_code == 422
    retry = tenant.guest.post(PURCHASE, json=dict(body, evil=1), headers={"Idempotency-Key": "v-1"})
    assert retry.status_code == 422 and "Idempotent-Replayed" not in retry.headers
    too_long = tenant.guest.post(PURCHASE, json=body, headers={"Idempotency-Key": "x" * 300})
    assert too_long.status_code == 422 and too_long.get_json()["type"] == "invalid_idempotency_key"
    assert counters(event)["tickets"] == 0


def test_comp_and_register_honour_the_key(tenant):
    event = make_event(tenant)
    tt = make_type(tenant, event, capacity=10)
    comp = {"eventId": event, "ticketTypeId": tt, "holders": [{"email": "a@b.co", "name": "A"}]}
    first = tenant.staff.post("/events/tickets/comp", json=comp, headers={"Idempotency-Key": "c"})
    again = tenant.staff.post("/events/tickets/comp", json=comp, headers={"Idempotency-Key": "c"})
    assert again.get_json() == first.get_json() and again.headers["Idempotent-Replayed"] == "true"
    register = {"eventId": event, "ticketTypeId": tt, "email": "r@b.co", "name": "R"}
    r1 = tenant.guest.post("/client/events/tickets/register", json=register, headers={"Idempotency-Key": "r"})
    r2 = tenant.guest.post("/client/events/tickets/register", json=register, headers={"Idempotency-Key": "r"})
    assert r1.status_code == r2.status_code == 201 and r1.get_json() == r2.get_json()
    assert counters(event, tt)["sold"] == 2


def test_concurrent_same_key_runs_once(tenant):
    event = make_event(tenant)
    tt = make_type(tenant, event, price=5, capacity=100)
    body = guest_purchase(tenant, event, [(tt, 1)])
    answers = []

    def buy():
        answers.append(tenant.guest.post(PURCHASE, json=body, headers={"Idempotency-Key": "race"}))

    threads = [threading.Thread(target=buy) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ok = [a for a in answers if a.status_code == 201]
    assert ok and all(a.status_code in (201, 409) for a in answers)
    assert len({a.get_json()["bookingId"] for a in ok}) == 1
    assert counters(event, tt)["held"] == 1


def test_keys_are_forgotten_after_a_day(tenant):
    import datetime as dt

    from core import db as database
    from core.models import IdempotencyRecord, utcnow
    from core.services.idempotency import purge_old_keys

    event = make_event(tenant)
    tt = make_type(tenant, event, capacity=10)
    body = {"eventId": event, "ticketTypeId": tt, "email": "o@b.co", "name": "O"}
    first = tenant.guest.post("/client/events/tickets/register", json=body, headers={"Idempotency-Key": "old"})
    with database.db.connection_context():
        IdempotencyRecord.update(created_at=utcnow() - dt.timedelta(hours=25)).where(
            (IdempotencyRecord.org == tenant.orgid) & (IdempotencyRecord.key == "old")).execute()
        assert purge_old_keys() >= 1
    later = tenant.guest.post("/client/events/tickets/register", json=body, headers={"Idempotency-Key": "old"})
    assert later.status_code == 201 and "Idempotent-Replayed" not in later.headers
    assert later.get_json()["bookingId"] != first.get_json()["bookingId"]

"""Idempotency-Key: same key + body replays the first answer, another body is 422, concurrent repeats run once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import ticket_factory as factory
from test_purchase_support import counters, guest_purchase, make_event, make_type

from core.models import Booking

PURCHASE = "/client/events/tickets/purchase"
CONFIRM = "/client/events/tickets/confirm-order"
COMP = "/events/tickets/comp"
REGISTER = "/client/events/tickets/register"
GATEWAY = "idempay"


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


@pytest.fixture
def paying(tenant):
    """A gateway (`GATEWAY`) for `tenant` whose payments have all succeeded, so confirm-order issues tickets."""
    with factory.fake_gateway(tenant, GATEWAY):
        yield


def pending_bookings(tenant, event_id: str, ticket_type_id: str, count: int, units: int = 1) -> list[str]:
    """`count` paid-for but unconfirmed bookings of `units` tickets each, through the public purchase."""
    body = guest_purchase(tenant, event_id, [(ticket_type_id, units)], paymentGateway=GATEWAY)
    return [tenant.guest.post(PURCHASE, json=body).get_json()["bookingId"] for _ in range(count)]


@dataclass
class Reuse:
    """A request that succeeds, another request sent with the same key, and what a user can see changed."""

    client: object
    path: str
    body: dict
    other_path: str
    other_body: dict
    state: Callable[[], object]


def comp_case(tenant) -> Reuse:
    """A comp, then the same key for other holders."""
    event = make_event(tenant)
    tt = make_type(tenant, event, capacity=10)
    body = {"eventId": event, "ticketTypeId": tt, "holders": [{"email": "a@b.co", "name": "A"}]}
    other = dict(body, holders=[{"email": "b@b.co", "name": "B"}, {"email": "c@b.co", "name": "C"}])
    return Reuse(tenant.staff, COMP, body, COMP, other, lambda: counters(event, tt))


def register_case(tenant) -> Reuse:
    """A registration, then the same key for two tickets."""
    event = make_event(tenant)
    tt = make_type(tenant, event, capacity=10)
    body = {"eventId": event, "ticketTypeId": tt, "email": "r@b.co", "name": "R"}
    return Reuse(tenant.guest, REGISTER, body, REGISTER, dict(body, quantity=2), lambda: counters(event, tt))


def refund_state(tenant, event, booking_id: str) -> Callable[[], object]:
    """The event's ticket statuses (as staff list them) and the money refunded on the booking."""
    def state():
        tickets = tenant.staff.get(f"/events/{event.id}/tickets").get_json()["data"]
        return sorted(t["status"] for t in tickets), factory.reload_model(Booking, booking_id).refunded_amount
    return state


def refund_ticket_case(tenant) -> Reuse:
    """A ticket refund, then the same key on another ticket of the booking."""
    event, tt = factory.make_event(tenant)
    first, second = factory.issue(tenant, tt, 2)
    return Reuse(tenant.staff, f"/events/tickets/{first.id}/refund", {}, f"/events/tickets/{second.id}/refund", {},
                 refund_state(tenant, event, first.booking_id))


def refund_booking_case(tenant) -> Reuse:
    """A partial booking refund, then the same key for another amount."""
    event, tt = factory.make_event(tenant)
    (ticket, _) = factory.issue(tenant, tt, 2)
    path = f"/events/bookings/{ticket.booking_id}/refund"
    return Reuse(tenant.staff, path, {"amount": "10.00"}, path, {"amount": "5.00"},
                 refund_state(tenant, event, ticket.booking_id))


def confirm_case(tenant) -> Reuse:
    """A confirm-order, then the same key for another paid booking."""
    event = make_event(tenant)
    tt = make_type(tenant, event, price=5, capacity=10)
    mine, another = pending_bookings(tenant, event, tt, 2)
    return Reuse(tenant.guest, CONFIRM, {"bookingId": mine}, CONFIRM, {"bookingId": another},
                 lambda: counters(event, tt))


@pytest.mark.parametrize("case", [comp_case, register_case, refund_ticket_case, refund_booking_case, confirm_case],
                         ids=lambda case: case.__name__.removesuffix("_case"))
def test_same_key_with_another_request_is_refused_and_changes_nothing(tenant, paying, case):
    reuse = case(tenant)
    key = {"Idempotency-Key": f"reuse-{case.__name__}"}
    first = reuse.client.post(reuse.path, json=reuse.body, headers=key)
    assert first.status_code in (200, 201), first.get_json()
    after_first = reuse.state()
    other = reuse.client.post(reuse.other_path, json=reuse.other_body, headers=key)
    assert other.status_code == 422 and other.get_json()["type"] == "idempotency_mismatch", other.get_json()
    assert reuse.state() == after_first
    replay = reuse.client.post(reuse.path, json=reuse.body, headers=key)
    assert (replay.status_code, replay.get_json()) == (first.status_code, first.get_json())
    assert replay.headers["Idempotent-Replayed"] == "true"


def test_confirm_order_replays_its_answer_and_issues_tickets_once(tenant, paying):
    event = make_event(tenant)
    tt = make_type(tenant, event, price=5, capacity=10)
    (booking_id,) = pending_bookings(tenant, event, tt, 1, units=2)
    key = {"Idempotency-Key": "confirm-once"}
    first = tenant.guest.post(CONFIRM, json={"bookingId": booking_id}, headers=key)
    again = tenant.guest.post(CONFIRM, json={"bookingId": booking_id}, headers=key)
    assert first.status_code == again.status_code == 200, first.get_json()
    assert first.get_json()["status"] == "confirmed" and len(first.get_json()["tickets"]) == 2
    assert again.get_json() == first.get_json() and again.headers["Idempotent-Replayed"] == "true"
    assert counters(event, tt) == {"event_sold": 2, "event_held": 0, "tickets": 2, "sold": 2, "held": 0}


@pytest.mark.parametrize("kind", ["tickets", "bookings"])
def test_a_refused_refund_is_replayed_with_its_error(tenant, kind):
    _, tt = factory.make_event(tenant)
    (ticket,) = factory.issue(tenant, tt)
    path = f"/events/{kind}/{ticket.id if kind == 'tickets' else ticket.booking_id}/refund"
    assert tenant.staff.post(path, json={}).status_code == 200
    key = {"Idempotency-Key": "refund-after-refund"}
    first = tenant.staff.post(path, json={}, headers=key)
    again = tenant.staff.post(path, json={}, headers=key)
    assert first.status_code in (409, 422) and first.get_json()["type"], first.get_json()
    assert (again.status_code, again.get_json()) == (first.status_code, first.get_json())
    assert again.headers["Idempotent-Replayed"] == "true"


def test_cancels_and_a_customer_transfer_honour_the_key(tenant):
    from core import db as database
    from core.models import Transfer

    event, tt = factory.make_event(tenant)
    first, second = factory.issue(tenant, tt, 2)
    (other,) = factory.issue(tenant, tt)
    owner = tenant.customer()
    (mine,) = factory.issue(tenant, tt, customer_id=owner.customer_id)
    for client, path, body in [(tenant.staff, f"/events/tickets/{first.id}/cancel", None),
                               (tenant.staff, f"/events/bookings/{other.booking_id}/cancel", None),
                               (owner, f"/client/events/tickets/{mine.id}/transfer", {"toEmail": "f@example.com"})]:
        key = {"Idempotency-Key": f"once-{path}"}
        done = client.post(path, json=body, headers=key)
        again = client.post(path, json=body, headers=key)
        assert done.status_code in (200, 201), done.get_json()
        assert (again.status_code, again.get_json()) == (done.status_code, done.get_json())
        assert again.headers["Idempotent-Replayed"] == "true"
    statuses = refund_state(tenant, event, second.booking_id)()[0]
    assert statuses.count("cancelled") == 2 and statuses.count("valid") == 2   # `second` and the transferred one
    with database.db.connection_context():
        assert Transfer.select().where(Transfer.org == tenant.orgid).count() == 1

"""Waiting-list races over real HTTP (threads against the live server) and racing sweepers: 100 customers in
line and 20 seats freed at once give exactly 20 offers to the first 20; offers that run out pass on exactly
once, however many sweepers race; the paid offers' tickets are issued once."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from test_races_tickets import poster, storm
from ticket_factory import issue, make_event

from core import db as database
from core.models import Booking, Customer, Event, Ticket, TicketType, utcnow
from core.services import holds
from plugins.resale import waitlist
from plugins.resale.waitlist_models import WaitlistEntry, WaitlistOffer

IN_LINE, FREED = 100, 20


@pytest.fixture
def crowded(tenant):
    """A sold-out type of FREED seats (one ticket each) and IN_LINE customers waiting for one seat each, joined in
    order through the waiting-list service."""
    tenant.enable("resale")
    event, ticket_type = make_event(tenant, capacity=FREED, price=2500)
    tickets = issue(tenant, ticket_type, FREED)
    line = []
    with database.db.connection_context():
        for i in range(IN_LINE):
            customer = Customer.create(org=tenant.orgid, email=f"fan{i:03d}@example.com", name=f"Fan {i}",
                                       password_hash="-")
            waitlist.join(tenant.org, customer.id, event.id, ticket_type.id, 1)
            line.append(customer.id)
    return tenant, event, ticket_type, tickets, line


def offers_of(tenant) -> list[WaitlistOffer]:
    with database.db.connection_context():
        return list(WaitlistOffer.select().where(WaitlistOffer.org == tenant.orgid))


def seat_counts(ticket_type_id: str) -> tuple[int, int]:
    with database.db.connection_context():
        row = TicketType.get_by_id(ticket_type_id)
        return row.sold, row.held


def test_twenty_seats_freed_at_once_go_to_the_first_twenty_in_line(live_server, crowded):
    tenant, event, ticket_type, tickets, line = crowded
    responses = storm([poster(live_server, tenant, f"/events/tickets/{t.id}/cancel", {}) for t in tickets])
    assert [r.status_code for r in responses] == [200] * FREED

    made = offers_of(tenant)
    assert len(made) == FREED
    assert sorted(o.customer_id for o in made) == sorted(line[:FREED])
    assert {o.status for o in made} == {"offered"}
    assert seat_counts(ticket_type.id) == (0, FREED)   # every freed seat is held for its offer, none on sale
    with database.db.connection_context():
        bookings = Booking.select().where(Booking.id.in_([o.booking_id for o in made]))
        assert {(b.status, b.source, b.seats) for b in bookings} == {("pending", "waitlist", 1)}
        assert WaitlistEntry.select().where((WaitlistEntry.org == tenant.orgid)
                                            & (WaitlistEntry.status == "waiting")).count() == IN_LINE - FREED
        event_row = Event.get_by_id(event.id)
        assert (event_row.sold, event_row.held) == (0, FREED)


def test_offers_that_run_out_pass_on_exactly_once_with_racing_sweepers(live_server, crowded):
    tenant, event, ticket_type, tickets, line = crowded
    storm([poster(live_server, tenant, f"/events/tickets/{t.id}/cancel", {}) for t in tickets])
    first_round = offers_of(tenant)
    with database.db.connection_context():
        Booking.update(expires_at=utcnow() - dt.timedelta(minutes=1)).where(
            Booking.id.in_([o.booking_id for o in first_round])).execute()

    barrier = threading.Barrier(3)

    def sweeper():
        with database.db.connection_context():
            barrier.wait()
            holds.expire_holds_job()

    threads = [threading.Thread(target=sweeper) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)

    every = offers_of(tenant)
    lapsed = [o for o in every if o.status == "lapsed"]
    live = [o for o in every if o.status == "offered"]
    assert len(every) == 2 * FREED and len(lapsed) == FREED and len(live) == FREED
    assert sorted(o.customer_id for o in lapsed) == sorted(line[:FREED])
    assert sorted(o.customer_id for o in live) == sorted(line[FREED:2 * FREED])
    assert seat_counts(ticket_type.id) == (0, FREED)

    # the second round pays: each offer's tickets issued once, to its customer
    for offer in live:
        paid = tenant.staff.post(f"/events/bookings/{offer.booking_id}/mark-paid", json={"reference": offer.id})
        assert paid.status_code == 200, paid.get_json()
    with database.db.connection_context():
        issued = list(Ticket.select().where(Ticket.booking.in_([o.booking_id for o in live])))
    assert sorted(t.customer_id for t in issued) == sorted(o.customer_id for o in live)
    assert seat_counts(ticket_type.id) == (FREED, 0)
    assert {o.status for o in offers_of(tenant) if o.customer_id in line[FREED:2 * FREED]} == {"accepted"}

"""`GET /events/{event_id}/report` (issue 20 part 3) against a constructed event (`report_world`): seats sold, held
and left per ticket type, sales by local day and check-ins by local hour in the event's timezone, revenue by
gateway net of a refund, admissions per scan point; the roles that may read it; another tenant's event is a 404;
the staff ticket search by ticket id; the CSV export's rows."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from fakes.checks import fake_fixtures
from fakes.stripe_server import FakeStripe
from report_world import ZONE, MovedClock, ReportWorld, build, local
from test_members import member, unique

from core import db as database
from core.services import event_reports

fake_server, fake = fake_fixtures(FakeStripe)


@pytest.fixture
def world(tenant, fake) -> ReportWorld:
    moved = MovedClock()
    try:
        yield build(tenant, fake, moved)
    finally:
        moved.close()


def days(first: dt.date, counts: list[int]) -> list[dict]:
    return [{"start": local(first + dt.timedelta(days=n), 0, 0).isoformat(), "count": count}
            for n, count in enumerate(counts)]


def test_the_report_counts_the_constructed_event_exactly(world):
    answer = world.tenant.staff.get(f"/events/{world.event_id}/report")
    assert answer.status_code == 200, answer.get_json()
    report = answer.get_json()
    assert report["event"]["id"] == world.event_id and report["event"]["tz"] == "America/New_York"
    seats = {row["name"]: (row["capacity"], row["sold"], row["held"], row["left"]) for row in report["ticketTypes"]}
    # Standard: 2 cash + 3 Stripe, one refunded (its seat back on sale). VIP: 1 sold, 1 live hold (the overdue
    # one is not counted).
    assert seats == {"Standard": (10, 4, 0, 6), "VIP": (5, 1, 1, 3)}
    assert report["totals"] == {"capacity": 15, "sold": 5, "held": 1, "left": 9, "checkedIn": 3, "admissions": 3}
    # Sales by local day (the VIP bought at 23:30 New York time counts on day 1, though it was day 2 in UTC);
    # a booking refunded later still sold on its day.
    assert report["sales"]["unit"] == "day"
    assert report["sales"]["buckets"] == days(world.first_day, [3, 0, 0, 3])
    assert report["sales"]["total"] == 6
    # Check-ins by local hour: 19:05 and 19:20 at the main door, 20:10 at the side door; the refused scan is not.
    assert report["checkIns"]["unit"] == "hour"
    assert report["checkIns"]["buckets"] == [{"start": local(world.check_in_day, 19, 0).isoformat(), "count": 2},
                                             {"start": local(world.check_in_day, 20, 0).isoformat(), "count": 1}]
    assert report["revenue"] == [
        {"gateway": "offline", "currency": "USD", "bookings": 1, "paid": 4000, "refunded": 0, "net": 4000},
        {"gateway": "stripe", "currency": "USD", "bookings": 2, "paid": 11000, "refunded": 2000, "net": 9000}]
    assert report["doors"] == [{"scanPoint": "Main door", "admissions": 2, "tickets": 2},
                               {"scanPoint": "Side door", "admissions": 1, "tickets": 1}]


def test_readers_read_the_report_and_door_staff_do_not(world, other_tenant):
    path = f"/events/{world.event_id}/report"
    for role in ("viewer", "box_office"):
        assert member(world.tenant, unique(role), role).get(path).status_code == 200
    door = member(world.tenant, unique("door"), "door").get(path)
    assert door.status_code == 403 and door.get_json()["type"] == "forbidden_role"
    assert world.tenant.guest.get(path).status_code == 401
    foreign = other_tenant.staff.get(path)
    assert foreign.status_code == 404 and foreign.get_json()["type"] == "event_not_found"
    assert other_tenant.staff.get("/events/no-such-event/report").get_json()["type"] == "event_not_found"


def test_the_attendee_list_and_its_csv_find_by_name_email_or_ticket_id(world):
    group = world.tenant.staff.get(f"/events/{world.event_id}/tickets?search=GROUP@EXAMPLE").get_json()["data"]
    assert sorted(t["id"] for t in group) == sorted(world.tickets["group"])   # the refunded one is listed too
    vip = world.tickets["vip"][0]
    assert [t["id"] for t in world.tenant.staff.get(
        f"/events/{world.event_id}/tickets?search={vip[:13]}").get_json()["data"]] == [vip]
    with database.db.connection_context():
        page = event_reports.attendee_page(world.tenant.org, world.event_id, "gus", 1, 10)
        text = "".join(event_reports.attendee_csv(world.tenant.org, world.event_id, "gus"))
        everyone = list(csv.DictReader(io.StringIO("".join(
            event_reports.attendee_csv(world.tenant.org, world.event_id, None)))))
    assert sorted(t.id for t in page.rows) == sorted(world.tickets["group"][1:])   # live tickets only
    rows = list(csv.DictReader(io.StringIO(text)))
    assert sorted(row["ticket_id"] for row in rows) == sorted(world.tickets["group"][1:])
    assert {(row["holder_name"], row["holder_email"], row["ticket_type"], row["status"]) for row in rows} == {
        ("Gus Group", "group@example.com", "Standard", "valid")}
    assert len(everyone) == 5 and {row["status"] for row in everyone} == {"valid", "checked_in"}
    checked = {row["ticket_id"]: row for row in everyone if row["status"] == "checked_in"}
    assert set(checked) == {*world.tickets["cash"], *world.tickets["vip"]}
    first = dt.datetime.fromisoformat(checked[world.tickets["vip"][0]]["first_scanned_at"].replace("Z", "+00:00"))
    assert abs(first - local(world.check_in_day, 20, 10)) < dt.timedelta(seconds=30)


def test_a_csv_cell_never_starts_a_formula():
    assert event_reports._cell("=HYPERLINK(1)") == "'=HYPERLINK(1)" and event_reports._cell("Ann") == "Ann"


def test_series_are_hourly_within_48_hours_and_contiguous():
    base = dt.datetime(2031, 3, 1, 12, 10)
    hourly = event_reports.series([(base, 1), (base + dt.timedelta(hours=3), 2)], "UTC")
    assert hourly.unit == "hour" and [b.count for b in hourly.buckets] == [1, 0, 0, 2]
    daily = event_reports.series([(base, 1), (base + dt.timedelta(hours=49), 1)], "Asia/Kolkata")
    assert daily.unit == "day" and [b.count for b in daily.buckets] == [1, 0, 1]
    assert daily.buckets[0].start.tzinfo is not None and daily.buckets[0].start.hour == 0
    assert event_reports.series([], "UTC").buckets == []
    assert ZONE.key == "America/New_York"

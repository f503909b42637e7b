"""The organiser's dashboard in a real Chromium (issue 20 part 3) on the constructed event of `report_world`: a
viewer signs in, the event list and the event's charts and counts match the database (the SVG bars' data
attributes and the data tables), the attendee search, the CSV download's rows, the door counts refreshed without a
reload after a new admission; a door member is refused. Screenshots at phone and desktop width."""

from __future__ import annotations

import csv
import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from fakes.checks import fake_fixtures
from fakes.stripe_server import FakeStripe
from pages_world import pages_tenant
from report_world import MovedClock, build
from test_members import PASSWORD, member, unique

from core import db as database
from core.models import Booking, CheckIn, TicketType

fake_server, fake = fake_fixtures(FakeStripe)


@pytest.fixture
def world(app, fake):
    tenant = pages_tenant(app, "Dashboard Club")
    moved = MovedClock()
    try:
        return build(tenant, fake, moved)
    finally:
        moved.close()


def sign_in(page, root: str, email: str) -> None:
    page.goto(root)
    page.wait_for_url(f"**{root}/sign-in?next=*")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def stored(world) -> dict:
    """What the database says: seats sold per type, seats sold per local day, admissions per point and hour."""
    zone = ZoneInfo("America/New_York")
    with database.db.connection_context():
        sold = {t.name: t.sold for t in TicketType.select().where(TicketType.event == world.event_id)}
        days: dict[str, int] = {}
        for booking in Booking.select().where((Booking.event == world.event_id) & Booking.confirmed_at.is_null(False)):
            day = booking.confirmed_at.replace(tzinfo=dt.UTC).astimezone(zone).date().isoformat()
            days[day] = days.get(day, 0) + booking.seats
        points: dict[str, int] = {}
        for scan in CheckIn.select().where((CheckIn.event == world.event_id) & (CheckIn.result == "admitted")):
            points[scan.scan_point] = points.get(scan.scan_point, 0) + 1
    return {"sold": sold, "days": days, "points": points}


def test_a_viewer_reads_the_dashboard_and_its_numbers_match_the_database(world, page, screenshots, tmp_path):
    root = f"/e/{world.tenant.orgid}/manage"
    email = unique("viewer")
    member(world.tenant, email, "viewer")
    sign_in(page, root, email)
    page.wait_for_url(f"**{root}")
    row = page.locator(f'tr[data-event-id="{world.event_id}"]')
    truth = stored(world)
    assert row.get_attribute("data-sold") == str(sum(truth["sold"].values()))
    assert row.get_attribute("data-checked-in") == "3"
    screenshots(page, "events")

    page.get_by_role("link", name="Report Night").click()
    page.wait_for_url(f"**{root}/events/{world.event_id}")
    assert page.locator("#summary").get_attribute("data-sold") == str(sum(truth["sold"].values()))
    types = {page.locator(f'#ticket-types tr[data-type-id] >> nth={n} >> th').inner_text():
             int(page.locator(f'#ticket-types tr[data-type-id] >> nth={n} >> td >> nth=0').inner_text())
             for n in range(page.locator("#ticket-types tr[data-type-id]").count())}
    assert types == truth["sold"]
    bars = page.locator("#sales-chart rect.chart-bar")
    by_day = {bars.nth(n).get_attribute("data-start")[:10]: int(bars.nth(n).get_attribute("data-count"))
              for n in range(bars.count())}
    assert {day: count for day, count in by_day.items() if count} == truth["days"]
    assert page.locator("#sales-chart").get_attribute("data-unit") == "day"
    assert page.locator("#checkins-chart").get_attribute("data-unit") == "hour"
    page.locator("#checkins-chart summary").click()       # "Show the data": the same counts as a table
    table = page.locator("#checkins-chart table tbody tr td")
    assert [int(table.nth(n).inner_text()) for n in range(table.count())] == [2, 1]
    assert page.locator('#revenue tr[data-gateway="stripe"]').get_attribute("data-net") == "9000"
    points = {page.locator("#door-counts tbody tr").nth(n).get_attribute("data-scan-point"):
              int(page.locator("#door-counts tbody tr").nth(n).locator("td").first.inner_text())
              for n in range(page.locator("#door-counts tbody tr").count())}
    assert points == truth["points"]
    screenshots(page, "dashboard")

    # A new admission shows without a reload (the page's script refreshes the door counts every 5 s).
    answer = world.tenant.staff.post(f"/events/check-in/{world.tickets['group'][1]}",
                                     json={"eventId": world.event_id, "scanPoint": "Side door"})
    assert answer.status_code == 200, answer.get_json()
    page.wait_for_function("document.querySelector('#door-counts tr[data-scan-point=\"Side door\"] td')"
                           ".textContent === '2'", timeout=15_000)

    page.get_by_label("Search by name, e-mail or ticket id").fill("Vera")
    page.get_by_label("Search by name, e-mail or ticket id").press("Enter")
    page.wait_for_url("**q=Vera*")
    assert page.locator("#attendee-list tbody tr").count() == 1
    assert page.locator("#attendee-list tbody tr").get_attribute("data-ticket-id") == world.tickets["vip"][0]
    with page.expect_download() as download:
        page.get_by_role("link", name="Download as CSV").click()
    saved = tmp_path / "attendees.csv"
    download.value.save_as(saved)
    with saved.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["ticket_id"], r["holder_name"], r["status"]) for r in rows] == [
        (world.tickets["vip"][0], "Vera Important", "checked_in")]
    screenshots(page, "attendees")


def test_a_door_member_is_refused_in_the_browser(world, page, screenshots):
    root = f"/e/{world.tenant.orgid}/manage"
    email = unique("door")
    member(world.tenant, email, "door")
    sign_in(page, root, email)
    assert page.get_by_role("heading", level=1).inner_text() == "Not allowed"
    assert "Your role (door) cannot see the organiser's dashboard" in page.locator("main").inner_text()
    screenshots(page, "refused")
    page.goto(root)
    page.wait_for_url(f"**{root}/sign-in?next=*")

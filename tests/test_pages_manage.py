"""The organiser's dashboard pages (`/e/{org}/manage`, issue 20 part 3) through HTTP, on the constructed event of
`report_world`: the staff sign-in form (the session cookie scoped to the dashboard, the throttle counters shared
with `POST /auth/login`, a two-factor code, the enrolment demanded of admins), the refusal of a door member, the
event list, the event's dashboard showing the report's numbers, the attendee search, the CSV export and the door
counts' JSON, sign-out, another tenant's event."""

from __future__ import annotations

import csv
import html
import io
import re
import time

import pyotp
import pytest
from door_world import door_member, offline_scan
from fakes.checks import fake_fixtures
from fakes.stripe_server import FakeStripe
from pages_world import pages_tenant
from report_world import MovedClock, build
from test_members import PASSWORD, member, unique

fake_server, fake = fake_fixtures(FakeStripe)


@pytest.fixture
def world(app, fake):
    tenant = pages_tenant(app, "Report Club")
    moved = MovedClock()
    try:
        world = build(tenant, fake, moved)
    finally:
        moved.close()
    world.browser = app.test_client()
    world.root = f"/e/{tenant.orgid}/manage"
    return world


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def visible(response) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))).strip())


def door_rows(html: str) -> list[tuple[str, str]]:
    return re.findall(r'<tr data-scan-point="([^"]*)"><th scope="row">[^<]*</th>\s*<td class="num">(\d+)</td>', html)


def sign_in(world, browser, email: str, password: str = PASSWORD, otp: str = "", next_path: str = ""):
    form_page = browser.get(f"{world.root}/sign-in" + (f"?next={next_path}" if next_path else ""))
    assert form_page.status_code == 200
    html = form_page.get_data(as_text=True)
    hidden_next = re.search(r'name="next" value="([^"]*)"', html).group(1)
    return browser.post(f"{world.root}/sign-in", data={"email": email, "password": password, "otp": otp,
                                                        "csrf": csrf_of(html), "next": hidden_next})


def staff_member(world, role: str = "viewer") -> str:
    email = unique(role)
    member(world.tenant, email, role)
    return email


def test_a_viewer_signs_in_and_sees_the_events_and_the_dashboards_numbers(world):
    browser = world.browser
    first = browser.get(world.root)
    assert first.status_code == 303 and first.headers["Location"].endswith(f"{world.root}/sign-in?next=%2Fe%2F"
                                                                           f"{world.tenant.orgid}%2Fmanage")
    signed = sign_in(world, browser, staff_member(world))
    assert signed.status_code == 303 and signed.headers["Location"] == world.root
    cookie = next(c for c in signed.headers.getlist("Set-Cookie") if c.startswith("pages_staff="))
    assert f"Path={world.root}" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert browser.get_cookie("pages_staff", path=world.root) is not None

    events = browser.get(world.root)
    html = events.get_data(as_text=True)
    assert events.status_code == 200 and "Report Night" in html
    row = re.search(rf'<tr data-event-id="{world.event_id}"[^>]*>', html).group(0)
    assert 'data-sold="5"' in row and 'data-capacity="15"' in row and 'data-checked-in="3"' in row
    assert "5 of 15" in visible(events)
    assert world.event_id in browser.get(f"{world.root}?q=report").get_data(as_text=True)
    assert "No event matches." in visible(browser.get(f"{world.root}?q=zzz-nothing"))

    board = browser.get(f"{world.root}/events/{world.event_id}")
    html = board.get_data(as_text=True)
    assert board.status_code == 200
    assert re.search(r'data-sold="5" data-held="1"\s+data-left="9" data-checked-in="3"', html)
    sales = re.findall(r'class="chart-bar"[^>]*data-count="(\d+)"', html.split('id="checkins-chart"')[0])
    checkins = re.findall(r'class="chart-bar"[^>]*data-count="(\d+)"', html.split('id="checkins-chart"')[1])
    assert sales == ["3", "0", "0", "3"] and checkins == ["2", "1"]
    assert 'data-gateway="offline" data-currency="USD" data-net="4000"' in html
    assert 'data-gateway="stripe" data-currency="USD" data-net="9000"' in html
    assert "$110.00" in visible(board) and "$20.00" in visible(board) and "$90.00" in visible(board)
    assert door_rows(html) == [("Main door", "2"), ("Side door", "1")]
    listed = re.findall(r'<tr data-ticket-id="([^"]+)"', html)
    assert sorted(listed) == sorted([*world.tickets["cash"], *world.tickets["vip"], *world.tickets["group"][1:]])

    french = visible(browser.get(f"{world.root}/events/{world.event_id}?lang=fr"))
    assert "Places par type de billet" in french and "5 sur 15" in french and "Recettes par moyen de paiement" in french
    found = browser.get(f"{world.root}/events/{world.event_id}?q=Vera&lang=en")
    assert re.findall(r'<tr data-ticket-id="([^"]+)"', found.get_data(as_text=True)) == world.tickets["vip"]
    by_id = browser.get(f"{world.root}/events/{world.event_id}?q={world.tickets['cash'][1]}")
    assert re.findall(r'<tr data-ticket-id="([^"]+)"', by_id.get_data(as_text=True)) == [world.tickets["cash"][1]]

    exported = browser.get(f"{world.root}/events/{world.event_id}/attendees.csv?q=group@example.com")
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    assert "attachment" in exported.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(exported.get_data(as_text=True))))
    assert sorted(row["ticket_id"] for row in rows) == sorted(world.tickets["group"][1:])

    counts = browser.get(f"{world.root}/events/{world.event_id}/doors")   # what the page's script refreshes from
    assert counts.status_code == 200 and counts.mimetype == "text/html"
    assert door_rows(counts.get_data(as_text=True)) == [("Main door", "2"), ("Side door", "1")]

    signed_out = browser.post(f"{world.root}/sign-out", data={"csrf": csrf_of(html)})
    assert signed_out.status_code == 303 and signed_out.headers["Location"].endswith("/manage/sign-in")
    assert browser.get(world.root).status_code == 303
    assert browser.get(f"{world.root}/events/{world.event_id}/doors").status_code == 401


def test_a_door_member_is_refused_and_gets_no_session(world):
    refused = sign_in(world, world.browser, staff_member(world, "door"))
    assert refused.status_code == 403
    assert "Your role (door) cannot see the organiser's dashboard" in visible(refused)
    assert not any(c.startswith("pages_staff=") for c in refused.headers.getlist("Set-Cookie"))
    assert world.browser.get(world.root).status_code == 303


def test_a_member_whose_role_changes_to_door_is_refused_on_the_next_page(world):
    email = staff_member(world, "box_office")
    assert sign_in(world, world.browser, email).status_code == 303
    assert world.browser.get(world.root).status_code == 200
    member_id = next(m["id"] for m in world.tenant.staff.get("/org/members").get_json()["members"]
                     if m["email"] == email)
    assert world.tenant.staff.patch(f"/org/members/{member_id}", json={"role": "door"}).status_code == 200
    assert world.browser.get(world.root).status_code == 403
    assert world.browser.get(f"{world.root}/events/{world.event_id}/doors").status_code == 403


def test_wrong_passwords_count_with_the_apis_staff_sign_in(world, config, monkeypatch):
    monkeypatch.setattr(config, "throttle_per_account", "3/minute")
    email = staff_member(world, "staff")
    for _ in range(2):
        assert world.tenant.guest.post("/auth/login", json={"email": email, "password": "guess-guess-1"},
                                       environ_base={"REMOTE_ADDR": "10.9.8.6"}).status_code == 401
    wrong = sign_in(world, world.browser, email, "guess-guess-1")
    assert wrong.status_code == 401 and "E-mail or password is incorrect." in visible(wrong)
    refused = sign_in(world, world.browser, email)
    assert refused.status_code == 429 and "Too many attempts" in visible(refused)
    assert not any(c.startswith("pages_staff=") for c in refused.headers.getlist("Set-Cookie"))


def test_two_factor_codes_and_the_enrolment_admins_must_make(world):
    email = unique("totp")
    client = member(world.tenant, email, "admin")
    secret = client.post("/auth/two-factor/enrol").get_json()["secret"]
    totp = pyotp.TOTP(secret)
    assert client.post("/auth/two-factor/confirm", json={"otp": totp.now()}).status_code == 200
    asked = sign_in(world, world.browser, email)
    assert asked.status_code == 401 and 'id="staff-otp"' in asked.get_data(as_text=True)
    assert 'aria-invalid="true" autofocus' in asked.get_data(as_text=True)
    assert sign_in(world, world.browser, email, otp=totp.at(time.time() + 30)).status_code == 303

    admin_without = staff_member(world, "admin")
    assert world.tenant.staff.patch("/org/settings", json={"adminsNeedTwoFactor": True}).status_code == 200
    other = world.browser.application.test_client()
    needs = sign_in(world, other, admin_without)
    assert needs.status_code == 403 and "requires administrators to use two-factor" in visible(needs)
    assert other.get(world.root).status_code == 303


def test_another_tenants_event_and_a_bad_page_number(world, app):
    stranger = pages_tenant(app, "Other Club")
    assert sign_in(world, world.browser, staff_member(world)).status_code == 303
    missing = world.browser.get(f"/e/{stranger.orgid}/manage")
    assert missing.status_code == 303     # this tenant's session is not sent to (nor valid at) the other's pages
    other_event = world.browser.get(f"{world.root}/events/no-such-event")
    assert other_event.status_code == 404
    assert world.browser.get(f"{world.root}/events/no-such-event/attendees.csv").status_code == 404
    bad = world.browser.get(f"{world.root}?page=0")
    assert bad.status_code == 400 and bad.get_json()["type"] == "invalid_parameter"


def test_a_page_costs_the_same_statements_however_many_events_and_attendees(world, monkeypatch):
    from core import db as database

    assert sign_in(world, world.browser, staff_member(world)).status_code == 303
    board = f"{world.root}/events/{world.event_id}"
    for path in (world.root, board):
        assert world.browser.get(path).status_code == 200   # the member's role is now cached on this worker
    statements: list[str] = []
    for name in ("execute_sql", "execute_numbered"):   # PostgreSQL runs compiled statements by the second
        if hasattr(database.db.obj, name):
            real = getattr(database.db.obj, name)
            monkeypatch.setattr(database.db.obj, name, lambda sql, *args, _real=real, **kwargs:
                                statements.append(sql) or _real(sql, *args, **kwargs))

    def cost(path: str) -> int:
        statements.clear()
        assert world.browser.get(path).status_code == 200
        assert all("org_id" in sql for sql in statements), statements
        return len(statements)

    before = (cost(world.root), cost(board))
    for n in range(3):                       # more events, bookings, tickets and scans
        answer = world.tenant.staff.post("/events", json={"event": {
            "name": f"Extra {n}", "starts_at": "2031-01-01T20:00:00Z", "ends_at": "2031-01-01T23:00:00Z"}})
        assert answer.status_code == 201
    extra = world.tenant.staff.post("/events/tickets/purchase", json={
        "eventId": world.event_id, "email": "more@example.com", "name": "More People", "paymentGateway": "offline",
        "items": [{"ticketTypeId": world.types["Standard"], "quantity": 3}]}).get_json()
    paid = world.tenant.staff.post(f"/events/bookings/{extra['bookingId']}/mark-paid", json={"reference": "x"})
    for ticket in paid.get_json()["tickets"]:
        world.tenant.staff.post(f"/events/check-in/{ticket['id']}", json={"scanPoint": "Gate 3"})
    assert (cost(world.root), cost(board)) == before
    # the pages' language setting, then the list's 3 / the report's 8, the attendees' 3 and the door conflicts' 2
    assert before == (4, 14)


def test_door_conflicts_from_offline_uploads_are_listed_on_the_dashboard(world):
    assert sign_in(world, world.browser, staff_member(world)).status_code == 303
    board = f"{world.root}/events/{world.event_id}"
    assert "No door conflicts." in visible(world.browser.get(board))
    used = world.tickets["cash"][0]                # admitted online at the main door already
    uploaded = door_member(world.tenant).post(f"/events/{world.event_id}/door-scans",
                                              json={"scans": [offline_scan(ticket_id=used, scan_point="Side door")]})
    assert uploaded.get_json()["scans"][0]["result"] == "conflict"
    (listed,) = world.tenant.staff.get(f"/events/{world.event_id}/door-conflicts").get_json()["conflicts"]
    html = world.browser.get(board).get_data(as_text=True)
    row = re.search(r'<tr data-conflict-id="([^"]+)" data-ticket-id="([^"]+)" data-count="(\d+)">', html)
    assert row.groups() == (listed["id"], used, "2")
    assert "Open" in visible(world.browser.get(board))
    assert door_rows(html) == [("Main door", "2"), ("Side door", "2")]   # the offline admission counts at its door

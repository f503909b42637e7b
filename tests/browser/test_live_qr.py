"""The rotating QR's ticket page in a real Chromium, with the server's clock and the page's clock (Playwright's)
moved together: the page draws a new code every 15 s (read back from the image with zxing), a code captured 70 s
earlier is refused by `POST /events/check-in` on the server while the current one is admitted; without
JavaScript the page shows the server's current code and reloads itself for the next. Screenshots at phone and
desktop width."""

from __future__ import annotations

import base64
import math
import time

import pytest
import requests
from pages_world import concert, created, pages_tenant
from test_notifications import decode_qr

from core import db as database
from core.models import Org
from core.services import qr
from core.services.ticket_links import ticket_page_token

STEP = 15


@pytest.fixture
def live_ticket(app):
    """A tenant with pages, a concert with a free rotating QR type, and one ticket of it bought by a guest:
    (tenant, ticket id, the ticket page's path)."""
    tenant = pages_tenant(app)
    event = concert(tenant, types=[{"name": "Free entry", "price": 0, "inventory": 50, "currency": "EUR"}])
    type_id = created(tenant.staff.post(f"/events/{event['id']}/ticket-types", json={
        "name": "Live entry", "price": 0, "capacity": 20, "currency": "EUR", "rotatingQr": True}))["id"]
    bought = tenant.guest.post("/client/events/tickets/purchase", json={
        "eventId": event["id"], "email": "rita@example.com", "name": "Rita Live",
        "items": [{"ticketTypeId": type_id, "quantity": 1}]})
    assert bought.status_code == 201, bought.get_json()
    [ticket] = bought.get_json()["tickets"]
    return tenant, ticket["id"], f"/e/{tenant.orgid}/tickets/{ticket_page_token(tenant.orgid, ticket['id'])}"


def shown_code(page) -> str:
    """The text of the QR the page shows now (its image decoded)."""
    source = page.locator(".live-qr img.qr").get_attribute("src")
    return decode_qr(base64.b64decode(source.split(",", 1)[1]))


def step_of(tenant, text: str) -> int:
    """The step a live code carries (its signed part verified with the tenant's key)."""
    with database.db.connection_context():
        key = Org.get_by_id(tenant.orgid).signing_public_key
    claims = qr.verify_payload(key, text)
    assert claims.live
    return claims.step


def check_in(server, tenant, clock, page_ms: float, text: str) -> requests.Response:
    """`POST /events/check-in` on the test server with its clock moved to the page's time."""
    clock.set(page_ms / 1000 - time.time())
    return requests.post(f"{server.url}/events/check-in", json={"qrPayload": text},
                         headers=tenant.staff.headers(), timeout=30)


def test_the_ticket_page_draws_a_new_code_every_15_seconds_and_an_old_one_is_refused(
        live_ticket, page, page_server, clock, screenshots):
    tenant, ticket_id, path = live_ticket
    start_ms = (math.ceil(time.time() / STEP) + 8) * STEP * 1000 + 3000   # 3 s into a step, a little ahead
    clock.set(start_ms / 1000 - time.time())
    page.clock.install(time=start_ms / 1000 - 1)   # Playwright's Python API takes seconds here
    page.clock.pause_at(start_ms / 1000)
    page.goto(path)
    assert page.get_by_role("heading", level=1).inner_text() == "Your ticket"
    first_step = start_ms // 1000 // STEP
    captured = shown_code(page)
    assert captured.startswith("BO2:") and step_of(tenant, captured) == first_step
    timer = page.get_by_role("timer")
    assert timer.inner_text() == "New code in 12 s"
    assert "changes every 15 seconds" in page.locator(".live-qr img.qr").get_attribute("alt")
    screenshots(page, "live-qr")

    codes, now_ms = [captured], start_ms
    for step in range(1, 5):   # four new steps: 60 s
        page.clock.run_for(STEP * 1000)
        now_ms += STEP * 1000
        page.wait_for_function(f"document.querySelector('[data-live-qr]').dataset.step === '{first_step + step}'")
        code = shown_code(page)
        assert step_of(tenant, code) == first_step + step and code not in codes
        codes.append(code)
    page.clock.run_for(10_000)
    now_ms += 10_000                                    # 70 s after the capture
    assert timer.inner_text() == "New code in 2 s"
    current = shown_code(page)
    assert current == codes[-1]

    stale = check_in(page_server, tenant, clock, now_ms, captured)
    assert stale.status_code == 409, stale.text
    assert (stale.json()["type"], stale.json()["reason"]) == ("qr_expired", "stale_code")
    admitted = check_in(page_server, tenant, clock, now_ms, current)
    assert admitted.status_code == 200, admitted.text
    assert admitted.json()["admitted"] is True and admitted.json()["ticket"]["id"] == ticket_id


def test_without_javascript_the_page_shows_the_servers_code_and_reloads_for_the_next(
        live_ticket, browser, page_server, clock, screenshots):
    tenant, _, path = live_ticket
    real = time.time()
    near_end = (math.floor(real / STEP) + 4) * STEP + 9.6     # 5.4 s before a step ends, on the server
    clock.set(near_end - real)
    context = browser.new_context(java_script_enabled=False, base_url=page_server.url, locale="fr-FR")
    try:
        tab = context.new_page()
        tab.goto(path)
        assert tab.locator('meta[http-equiv="refresh"]').get_attribute("content") in ("5", "6")
        assert step_of(tenant, shown_code(tab)) == math.floor(near_end / STEP)
        assert tab.get_by_role("timer").inner_text() in ("Nouveau code dans 5 s", "Nouveau code dans 6 s")
        assert "toutes les 15 secondes" in tab.locator(".live-qr-note").inner_text()
        with tab.expect_navigation(timeout=20_000) as reloaded:
            pass                                             # the meta refresh reloads the page ...
        assert reloaded.value.url.endswith(path)
        assert step_of(tenant, shown_code(tab)) == math.floor(near_end / STEP) + 1   # ... with the next code
        screenshots(tab, "live-qr-no-javascript")
    finally:
        context.close()

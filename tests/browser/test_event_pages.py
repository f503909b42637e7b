"""The event pages in a real Chromium: the event page and the index as a visitor sees them (English and French,
keyboard, screenshots at phone and desktop width), nothing loaded from another site, and the server clock the
harness moves (a sale that starts in five days is on sale once the clock is six days on)."""

from __future__ import annotations

from pages_world import concert, pages_tenant


def test_a_visitor_reads_the_event_page_and_the_index(app, page, page_server, screenshots):
    tenant = pages_tenant(app)
    event = concert(tenant)
    requested = []
    page.on("request", lambda req: requested.append(req.url))
    page.goto(f"/e/{tenant.orgid}/")
    screenshots(page, "index")
    page.get_by_role("link", name="Concert de Jazz").click()
    page.wait_for_url(f"**/e/{tenant.orgid}/{event['slug']}")
    assert page.get_by_role("heading", level=1).inner_text() == "Concert de Jazz"
    seated = page.locator(".offer", has_text="Seated")
    assert "€25.00" in seated.inner_text() and "+ €1.50 service fee" in seated.inner_text()
    assert "Sold out" in page.locator(".offer", has_text="Front row").inner_text()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    assert page.locator(".skip-link").is_visible()          # shown when focused
    screenshots(page, "event")
    assert all(url.startswith(page_server.url) for url in requested), requested


def test_the_french_page_is_in_french(app, page, screenshots):
    tenant = pages_tenant(app)
    event = concert(tenant)
    page.goto(f"/e/{tenant.orgid}/{event['slug']}")
    page.get_by_role("link", name="Français").click()
    assert page.locator("html").get_attribute("lang") == "fr"
    assert page.get_by_role("heading", name="Billets").is_visible()
    assert "25,00\xa0€" in page.locator(".offer", has_text="Seated").inner_text()
    page.goto(f"/e/{tenant.orgid}/")                         # the switcher's choice is remembered
    assert page.get_by_role("heading", level=1).inner_text() == "Événements"
    screenshots(page, "event-fr")


def test_the_server_clock_moves_when_the_test_says(app, page, clock):
    tenant = pages_tenant(app)
    event = concert(tenant)
    page.goto(f"/e/{tenant.orgid}/{event['slug']}")
    assert "On sale from" in page.locator(".offer", has_text="Late release").inner_text()
    clock.advance(6 * 24 * 3600)
    page.reload()
    assert "On sale · 10 left" in page.locator(".offer", has_text="Late release").inner_text()

"""The door scanner (`/e/{org}/scan`) in a real Chromium against the real server: door staff sign in, choose the
event, and scan with Chromium's fake camera fed a video of a ticket's QR code (Linux Chromium has no
BarcodeDetector: the vendored jsQR reads it) or type codes; offline the server's rule table decides on the device
and the queue uploads when the network returns; two offline devices admitting one ticket make a reported conflict.
Screenshots at phone and desktop width."""

from __future__ import annotations

from test_members import PASSWORD

from browser.scan_world import (
    answer,
    camera_browser,
    door_tenant,
    qr_text,
    qr_video,
    record_tones,
    scan_count,
    scanner_page,
    scans,
    sign_in_and_choose,
    staff_member,
    ticket,
    tones,
    type_code,
)

VERDICT = "document.querySelector('#answer').dataset.verdict === '{}'"
QUEUE = "document.querySelector('#connection').dataset.pending === '{}'"
ONLINE = "document.querySelector('#connection').dataset.online === '{}'"
BUNDLE = "document.querySelector('#bundle-state').textContent.startsWith('Ticket list of')"


def test_a_viewer_and_a_customer_are_refused_door_staff_reach_the_event(app, page, screenshots):
    tenant = door_tenant(app)
    customer = tenant.customer(email="fan-at-door@example.com")
    page.goto(f"/e/{tenant.orgid}/scan")
    assert page.get_by_role("heading", level=1).inner_text() == "Door scanner"
    page.get_by_label("E-mail").fill(customer.email)
    page.get_by_label("Password").fill("correct-horse-9")
    page.get_by_role("button", name="Sign in").click()
    refusal = page.locator("#sign-in-problem")
    refusal.wait_for(state="visible")
    assert refusal.inner_text() == "Wrong e-mail or password, or not on this organiser's staff."
    screenshots(page, "customer-refused")

    viewer = staff_member(tenant, "viewer")
    page.get_by_label("E-mail").fill(viewer)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name=tenant.event.name).click()      # a viewer may read the list, not scan
    problem = page.locator("#event-problem")
    problem.wait_for(state="visible")
    assert problem.inner_text() == "Your role does not allow checking tickets in. Ask an administrator."
    assert page.locator("#step-scan").is_hidden()
    screenshots(page, "viewer-refused")
    page.reload()                                                  # the device kept no sign-in
    page.locator("#step-sign-in").wait_for(state="visible")


def test_online_the_camera_admits_a_ticket_once_and_its_next_scan_is_refused(app, browser, chromium_path,
                                                                             page_server, tmp_path, screenshots):
    tenant = door_tenant(app)
    email = staff_member(tenant, "door")
    held = ticket(tenant, "Ada Lovelace")
    video = qr_video(tmp_path / "ada.y4m", qr_text(tenant, held))   # the code in view 1.5 s, then gone 3.5 s
    with camera_browser(browser, chromium_path, video) as chromium:
        page = scanner_page(chromium, page_server.url)
        sign_in_and_choose(page, tenant, email)
        page.wait_for_function(VERDICT.format("admitted"))
        shown = answer(page)
        assert shown["holder"] == "Ada Lovelace" and shown["count"] == "Entry 1 of 1"
        assert scan_count(held.id) == 1
        assert scans(held.id) == ["admitted"]          # the code stays in view for many frames: one scan
        screenshots(page, "admitted")

        page.wait_for_function(VERDICT.format("refused"))   # the code comes back into view
        shown = answer(page)
        assert shown["type"] == "already_checked_in" and shown["why"] == "Already checked in."
        page.get_by_role("button", name="Camera").click()    # stop the camera
        assert scans(held.id) == ["admitted", "already_used"] and scan_count(held.id) == 1
        screenshots(page, "refused")
        page.context.close()


def test_offline_the_device_decides_queues_reloads_and_uploads_when_back_online(app, page, screenshots):
    tenant = door_tenant(app)
    email = staff_member(tenant, "door")
    grace, revoked = ticket(tenant, "Grace Hopper"), ticket(tenant, "Alan Turing")
    revoked_code = qr_text(tenant, revoked)
    assert tenant.staff.post(f"/events/tickets/{revoked.id}/cancel").status_code == 200
    record_tones(page)
    sign_in_and_choose(page, tenant, email)
    page.wait_for_function(BUNDLE)                                # the event's bundle is on the device
    page.wait_for_function("navigator.serviceWorker.controller !== null")

    page.context.set_offline(True)
    page.wait_for_function(ONLINE.format("false"))
    assert page.locator("#connection").inner_text().startswith("Offline")
    first = type_code(page, qr_text(tenant, grace))
    assert first["verdict"] == "admitted" and first["holder"] == "Grace Hopper"
    assert "Decided on this device (offline)." in first["why"]
    again = type_code(page, qr_text(tenant, grace))
    assert again["verdict"] == "refused" and again["type"] == "already_checked_in"
    cancelled = type_code(page, revoked_code)
    assert cancelled["verdict"] == "refused" and cancelled["type"] == "ticket_revoked"
    assert tones(page) == [1320, 220, 220]                          # a high tone admits, a low one refuses
    assert page.evaluate("document.activeElement.id") == "scan-code"  # ready for the next code at once
    page.wait_for_function(QUEUE.format(3))
    assert "3 scans waiting to upload." in page.locator("#connection").inner_text()
    assert scans(grace.id) == [] and scan_count(grace.id) == 0      # nothing reached the server
    screenshots(page, "offline")

    reloaded = page.reload()                                       # the service worker serves the shell
    assert reloaded.from_service_worker
    page.locator("#step-scan").wait_for(state="visible")
    page.wait_for_function(QUEUE.format(3))
    assert type_code(page, qr_text(tenant, grace))["type"] == "already_checked_in"   # still known after reload

    page.context.set_offline(False)
    page.wait_for_function(QUEUE.format(0), timeout=30_000)
    assert "All scans uploaded." in page.locator("#connection").inner_text()
    assert scans(grace.id) == ["admitted", "already_used", "already_used"] and scan_count(grace.id) == 1
    assert scans(revoked.id) == ["revoked"]
    screenshots(page, "uploaded")

    page.get_by_role("button", name="Sign out / change event").click()   # nothing waits: the device signs out
    page.locator("#step-sign-in").wait_for(state="visible")
    devices = tenant.staff.get(f"/events/{tenant.event.id}/door-devices").get_json()["devices"]
    assert len(devices) == 1 and devices[0]["revokedAt"]                  # its credential is revoked


def test_two_offline_devices_admitting_one_ticket_make_a_reported_conflict(app, browser, page_server, screenshots):
    tenant = door_tenant(app)
    once = ticket(tenant, "Katherine Johnson")
    code = qr_text(tenant, once)
    devices = []
    for _ in range(2):
        context = browser.new_context(base_url=page_server.url, locale="en-GB")
        device = context.new_page()
        device.set_default_timeout(20_000)
        sign_in_and_choose(device, tenant, staff_member(tenant, "door"))
        device.wait_for_function(BUNDLE)
        devices.append(device)
    for device in devices:
        device.context.set_offline(True)
        assert type_code(device, code)["verdict"] == "admitted"
    for device in devices:                                          # one after the other: the second conflicts
        device.context.set_offline(False)
        device.wait_for_function(QUEUE.format(0), timeout=30_000)
    assert scan_count(once.id) == 2                                 # both admissions happened at the doors
    conflicts = tenant.staff.get(f"/events/{tenant.event.id}/door-conflicts").get_json()
    rows = conflicts.get("data", conflicts.get("conflicts", []))
    assert [row["ticketId"] for row in rows] == [once.id]
    second = devices[1]
    second.locator("#conflicts").wait_for(state="visible")
    assert "Katherine Johnson" in second.locator("#conflict-list").inner_text()
    screenshots(second, "conflict")
    for device in devices:
        device.context.close()

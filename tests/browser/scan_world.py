"""What the door scanner's browser tests share: a tenant with pages and an event happening today, door staff who
sign in on the scanner page, the ticket's QR text, a camera video of a QR code for Chromium's fake camera, and a
Chromium launched with that camera.

Builds data through the API and the test factories; never writes the scanner's own state.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import qrcode
from pages_world import pages_tenant
from test_members import PASSWORD, accept, invite, unique
from ticket_factory import issue, make_event, reload

from browser.browser_harness import CHROMIUM_ARGS, DESKTOP
from core import db as database
from core.models import CheckIn
from core.services import qr

VIDEO_SIZE = (640, 480)
VIDEO_FPS = 10


def door_tenant(app):
    """A tenant with the pages plugin, its event happening now (`tenant.event`, one single-entry type
    `tenant.ticket_type`)."""
    tenant = pages_tenant(app, name="Door Club")
    tenant.event, tenant.ticket_type = make_event(tenant, starts_in_days=0, name="Tonight's Gig")
    return tenant


def staff_member(tenant, role: str = "door") -> str:
    """A member of `tenant` with `role` who has accepted the invitation (password `PASSWORD`); their e-mail."""
    email = unique(role)
    assert accept(tenant, invite(tenant, email, role)["token"]).status_code == 201
    return email


def ticket(tenant, holder: str):
    """A valid ticket of the tenant's event for `holder`."""
    (made,) = issue(tenant, tenant.ticket_type, name=holder, email=f"{holder.split()[0].lower()}@example.com")
    return made


def qr_text(tenant, made) -> str:
    """What the ticket's QR code says (the signed payload its `/qr` endpoints encode)."""
    return qr.payload_for(tenant.org, reload(made.id))


def scans(ticket_id: str) -> list[str]:
    """The results in the scan log of a ticket, oldest first."""
    with database.db.connection_context():
        return [row.result for row in CheckIn.select().where(CheckIn.ticket == ticket_id)
                .order_by(CheckIn.created_at)]


def scan_count(ticket_id: str) -> int:
    """The admissions the server counts for a ticket."""
    return reload(ticket_id).scan_count


def qr_video(path: Path, text: str, *, shown_s: float = 1.5, hidden_s: float = 3.5) -> Path:
    """A YUV4MPEG2 video (Chromium's fake camera loops it) of the QR code of `text` held up for `shown_s` seconds,
    then a blank wall for `hidden_s`: the code leaves the camera's view and comes back, as at a door."""
    image = qrcode.make(text, border=4).get_image().convert("L")
    width, height = VIDEO_SIZE
    side = height - 40
    image = image.resize((side, side))
    wall = bytes([235]) * (width * height)
    shown = bytearray(wall)
    left, top = (width - side) // 2, (height - side) // 2
    pixels = image.tobytes()
    for row in range(side):
        shown[(top + row) * width + left:(top + row) * width + left + side] = pixels[row * side:(row + 1) * side]
    chroma = bytes([128]) * (width * height // 2)   # 4:2:0, no colour: U and V at the middle
    with path.open("wb") as video:
        video.write(f"YUV4MPEG2 W{width} H{height} F{VIDEO_FPS}:1 Ip A1:1 C420jpeg\n".encode())
        for luma, frames in ((bytes(shown), shown_s), (wall, hidden_s)):
            for _ in range(round(frames * VIDEO_FPS)):
                video.write(b"FRAME\n" + luma + chroma)
    return path


@contextlib.contextmanager
def camera_browser(browser, chromium_path: str, video: Path):
    """Another Chromium (the session's binary and flags, through the session's Playwright) whose camera is
    `video`: camera access granted without asking, the fake device fed from the file."""
    launched = browser.browser_type.launch(
        executable_path=chromium_path, headless=True,
        args=[*CHROMIUM_ARGS, "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
              f"--use-file-for-fake-video-capture={video}"])
    try:
        yield launched
    finally:
        launched.close()


def scanner_page(chromium, server_url: str):
    """A new context and page of `chromium` at desktop size, camera allowed, relative URLs to the test server."""
    context = chromium.new_context(viewport=DESKTOP, base_url=server_url, locale="en-GB", permissions=["camera"])
    tab = context.new_page()
    tab.set_default_timeout(20_000)
    return tab


def sign_in_and_choose(page, tenant, email: str, password: str = PASSWORD) -> None:
    """On the scanner page: sign in as `email`, choose the tenant's event; the scanning screen is shown."""
    page.goto(f"/e/{tenant.orgid}/scan")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name=tenant.event.name).click()
    page.locator("#step-scan").wait_for(state="visible")


def answer(page) -> dict:
    """The answer panel as shown: verdict, refusal type, holder, type, why and entry count."""
    panel = page.locator("#answer")
    return {"verdict": panel.get_attribute("data-verdict"), "type": panel.get_attribute("data-type"),
            "holder": page.locator("#answer-holder").inner_text(), "why": page.locator("#answer-why").inner_text(),
            "count": page.locator("#answer-count").inner_text()}


def type_code(page, text: str) -> dict:
    """Type (or paste) a code and press Enter, as a keyboard wedge scanner does; the answer shown."""
    before = page.locator("#answer").get_attribute("data-shown") or "0"
    field = page.get_by_label("Code or ticket number")
    field.fill(text)
    field.press("Enter")
    page.wait_for_function(f"(document.querySelector('#answer').dataset.shown || '0') !== '{before}'")
    return answer(page)


TONE_RECORDER = """
window.scanTones = [];
const createOscillator = AudioContext.prototype.createOscillator;
AudioContext.prototype.createOscillator = function () {
  const oscillator = createOscillator.call(this);
  const start = oscillator.start.bind(oscillator);
  oscillator.start = (...args) => { window.scanTones.push(oscillator.frequency.value); return start(...args); };
  return oscillator;
};
"""


def record_tones(page) -> None:
    """From the next page load on, remember the pitch (Hz) of every tone the page starts (`tones`)."""
    page.add_init_script(TONE_RECORDER)


def tones(page) -> list[float]:
    """The pitches of the tones played since the page loaded."""
    return page.evaluate("window.scanTones")

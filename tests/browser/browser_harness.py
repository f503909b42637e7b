"""The browser-test harness's parts: Debian's Chromium (installed when missing), the launch flags, a real server
process whose clock a test moves, and screenshots at phone and desktop width.

Never downloads a browser (`playwright install` is never run); never moves the clock of a deployment that did not
name a clock file; writes screenshots only under `tests/artifacts/screenshots/` (git-ignored).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = Path(__file__).resolve().parent.parent / "artifacts" / "screenshots"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}


def ensure_chromium() -> str:
    """The path of Debian's Chromium, installing the `chromium` package first when it is missing (as root,
    non-interactive). Raises RuntimeError saying what to do when it cannot."""
    if Path(CHROMIUM).exists():
        return CHROMIUM
    if shutil.which("apt-get") is None:
        raise RuntimeError(f"{CHROMIUM} is missing and this machine has no apt-get: install Chromium there.")
    if os.geteuid() != 0:
        raise RuntimeError(f"{CHROMIUM} is missing; install it as root: apt-get install -y chromium")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    done = subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", "chromium"], env=env,
                          capture_output=True, text=True, timeout=900)
    if done.returncode != 0 or not Path(CHROMIUM).exists():
        raise RuntimeError(f"`apt-get install -y chromium` failed ({done.returncode}); browser tests need "
                           f"Debian's Chromium at {CHROMIUM}:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return CHROMIUM


class ServerClock:
    """The clock of the test server: `advance(seconds)` moves its notion of now (holds expire, sales open)
    through the file named by `BOXOFFICE_TEST_CLOCK_FILE`; `reset()` puts it back to real time."""

    def __init__(self, path: Path):
        self.path = path
        self.offset = 0.0
        self.reset()

    def set(self, seconds: float) -> None:
        """Move the server's clock to `seconds` from real time (positive: later)."""
        self.offset = float(seconds)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(repr(self.offset))
        os.replace(tmp, self.path)   # a reader sees the old or the new offset, never half a number

    def advance(self, seconds: float) -> None:
        """Move the server's clock `seconds` further."""
        self.set(self.offset + seconds)

    def reset(self) -> None:
        """Real time again."""
        self.set(0.0)


def screenshot_paths(test_name: str, name: str) -> dict[str, Path]:
    """Where the phone and desktop shots of page `name` of a test go."""
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in f"{test_name}-{name}")
    return {kind: SCREENSHOTS / f"{safe}-{kind}.png" for kind in ("phone", "desktop")}


def take_screenshots(page, test_name: str, name: str) -> dict[str, Path]:
    """Full-page screenshots of `page` at phone (390x844) then desktop (1280x800) width; the viewport is left at
    desktop size. Returns the files written."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    paths = screenshot_paths(test_name, name)
    for kind, size in (("phone", PHONE), ("desktop", DESKTOP)):
        page.set_viewport_size(size)
        page.screenshot(path=str(paths[kind]), full_page=True)
    return paths


def sign_in_on_page(page, email: str, password: str) -> None:
    """Fill and send the pages' sign-in form (`/e/<org>/account/login`) that `page` shows."""
    page.locator("#login-email").fill(email)
    page.locator("#login-password").fill(password)
    page.get_by_role("button", name="Sign in").click()

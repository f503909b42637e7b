"""Browser-test fixtures: one Chromium (Debian's, driven by Playwright) per session, a real gunicorn server on the
suite's database whose clock the test moves, a fresh browser page per test, and phone/desktop screenshots.

Fixtures only: no test here. See docs/pages.md#browser-tests for how to write one.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from procs import ServerProcess, boxoffice_env, free_port, gunicorn_command

from browser.browser_harness import CHROMIUM_ARGS, DESKTOP, ServerClock, ensure_chromium, take_screenshots


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Debian's Chromium, installed when missing (a clear failure when it cannot be)."""
    try:
        return ensure_chromium()
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def browser(chromium_path):
    """One Chromium for the whole session, launched by Playwright from `chromium_path` (never downloaded)."""
    from playwright.sync_api import sync_playwright

    driver = sync_playwright().start()
    chromium = driver.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS, headless=True)
    yield chromium
    chromium.close()
    driver.stop()


@pytest.fixture(scope="session")
def clock_file(app) -> Path:
    """The file the test server's clock reads (`BOXOFFICE_TEST_CLOCK_FILE`)."""
    return Path(tempfile.mkdtemp(prefix="boxoffice-clock-")) / "offset"


@pytest.fixture(scope="session")
def server_clock(clock_file) -> ServerClock:
    """The test server's clock, at real time."""
    return ServerClock(clock_file)


@pytest.fixture(scope="session")
def page_server(app, server_clock, clock_file):
    """A real gunicorn (one worker) on the suite's database, with the movable clock and its own URL as the
    public URL (so the links the core makes point at it)."""
    port = free_port()
    env = boxoffice_env(BOXOFFICE_TEST_CLOCK_FILE=str(clock_file), BOXOFFICE_PUBLIC_URL=f"http://127.0.0.1:{port}",
                        BOXOFFICE_JOBS_IMMEDIATE="1")
    with ServerProcess(gunicorn_command(port, workers=1), port, env=env) as server:
        yield server


@pytest.fixture
def clock(server_clock):
    """The server's clock for one test, put back to real time afterwards."""
    server_clock.reset()
    yield server_clock
    server_clock.reset()


@pytest.fixture
def page(browser, page_server):
    """A new browser page (its own context: no cookies shared between tests) at desktop size, English by default;
    relative URLs go to the test server. Its `clock` is Playwright's (the browser's timers and Date)."""
    context = browser.new_context(viewport=DESKTOP, base_url=page_server.url, locale="en-GB")
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    yield tab
    context.close()


@pytest.fixture
def screenshots(request):
    """`screenshots(page, name)`: save full-page shots of `page` at phone and desktop width under
    tests/artifacts/screenshots/ (named after the test); returns the two paths."""
    def shoot(tab, name: str) -> dict[str, Path]:
        return take_screenshots(tab, request.node.name, name)
    return shoot


def pytest_collection_modifyitems(items):
    """Browser tests are marked `browser` (run them alone with `-m browser`)."""
    here = Path(__file__).resolve().parent
    for item in items:
        if Path(str(item.fspath)).resolve().parent == here:
            item.add_marker(pytest.mark.browser)


os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")

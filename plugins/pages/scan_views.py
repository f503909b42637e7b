"""The door scanner's files (`/e/{org}/scan`): the app shell page with its words as JSON, the service worker that
keeps the shell and its scripts for offline use, and the web app manifest that makes it installable.

Holds no door rule and no credential: the script signs in, registers the device and checks tickets in through
the core's API (`/auth/login`, `/events/{id}/door-devices`, `/events/check-in`, ...) and decides offline with the
server's own rule table (`static/scan/door-evaluator.js`); these views only serve files.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path

from flask import Response, make_response, render_template, url_for

from plugins.pages import addressing
from plugins.pages.addressing import Address
from plugins.pages.scan_catalogue import scan_catalogue
from plugins.pages.views import PAGES, render, speaker_for

STATIC = Path(__file__).resolve().parent / "static"
# What the service worker keeps for offline use, besides the shell and the manifest: the scanner's scripts and
# styles, the rotating code module the rule evaluator imports, and the vendored QR decoder.
OFFLINE_GLOBS = ("scan/*", "door/rotating-code.js", "vendor/jsQR.js", "pages.css")
THEME_COLOUR = "#0a4fb3"
ICON_SIZES = (192, 512)


@cache
def offline_files() -> tuple[str, ...]:
    """The static files (relative to `static/`) the service worker stores, sorted; read once per process."""
    found = {path.relative_to(STATIC).as_posix() for pattern in OFFLINE_GLOBS for path in STATIC.glob(pattern)
             if path.is_file()}
    return tuple(sorted(found))


@cache
def offline_version() -> str:
    """A digest of every stored file's bytes: a new release changes the worker, which replaces its cache."""
    digest = hashlib.sha256()
    for name in offline_files():
        digest.update(name.encode() + b"\0" + (STATIC / name).read_bytes())
    return digest.hexdigest()[:16]


def _asset(name: str) -> str:
    return url_for("pages.static", filename=name)


def scan_page(address: Address) -> Response:
    """The scanner's app shell: its screens (sign in, event, scanning) as HTML, its words and settings as JSON."""
    site, speaker = address.site, speaker_for(address.site)
    settings = {"org": site.org.id, "scanPath": site.scan_path(), "worker": site.scan_path(addressing.SCAN_WORKER_FILE),
                "decoderWorker": _asset("scan/decode-worker.js"), "language": speaker.language,
                "evaluator": _asset("scan/door-evaluator.js")}
    catalogue = scan_catalogue(speaker)
    return render(site, speaker, "pages/scan.html", settings=settings, catalogue=catalogue,
                  manifest_path=site.scan_path(addressing.SCAN_MANIFEST_FILE), theme_colour=THEME_COLOUR)


def scan_worker(address: Address) -> Response:
    """The service worker: stores the shell, manifest and offline files, serves them when the network fails.
    Allowed the shell's path as its scope (`Service-Worker-Allowed`), which is not below the worker's own."""
    site = address.site
    urls = [site.scan_path(), site.scan_path(addressing.SCAN_MANIFEST_FILE),
            *(_asset(name) for name in offline_files())]
    body = render_template("pages/scan_sw.js", version=offline_version(), scope=site.scan_path(), urls=urls)
    response = make_response(body)
    response.headers["Content-Type"] = "text/javascript; charset=utf-8"
    response.headers["Service-Worker-Allowed"] = site.scan_path()
    response.headers["Cache-Control"] = "no-cache"
    return response


def scan_manifest(address: Address) -> Response:
    """The web app manifest: the scanner installs as a standalone app starting at the shell, with the app's icons."""
    site, speaker = address.site, speaker_for(address.site)
    manifest = {
        "name": speaker.gettext("%(org)s door scanner", org=site.org.name),
        "short_name": speaker.gettext("Scanner"),
        "lang": speaker.language,
        "start_url": site.scan_path(),
        "scope": site.scan_path(),
        "display": "standalone",
        "orientation": "portrait",
        "background_color": "#ffffff",
        "theme_color": THEME_COLOUR,
        "icons": [{"src": _asset(f"scan/icon-{size}.png"), "sizes": f"{size}x{size}", "type": "image/png",
                   "purpose": "any"} for size in ICON_SIZES],
    }
    response = make_response(json.dumps(manifest, ensure_ascii=False))
    response.headers["Content-Type"] = "application/manifest+json"
    response.headers["Content-Language"] = speaker.language
    response.vary.add("Accept-Language")
    response.vary.add("Cookie")
    return response


def register_pages() -> None:
    """Add the scanner's shell, worker and manifest to the pages' routes."""
    PAGES.update({(addressing.SCAN, "GET"): scan_page, (addressing.SCAN_WORKER, "GET"): scan_worker,
                  (addressing.SCAN_MANIFEST, "GET"): scan_manifest})

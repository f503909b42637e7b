"""The door scanner's files as the pages plugin serves them (`/e/{org}/scan`): the app shell in English and French
with its words as JSON, on the platform's host and a tenant's own hostname; the service worker (its scope header,
the files it keeps, all of them served); the web app manifest and its icons. The scanner at work is driven in a
real browser in tests/browser/test_scan_page.py."""

from __future__ import annotations

import io
import json
import re

import pytest
from pages_world import pages_tenant
from PIL import Image
from test_pages import page, text
from test_tenant_domains import add_domain


@pytest.fixture
def door_club(app):
    return pages_tenant(app, name="Door Club")


def _json_script(response, element_id: str) -> dict:
    found = re.search(rf'<script type="application/json" id="{element_id}">(.*?)</script>',
                      response.get_data(as_text=True), flags=re.S)
    assert found, f"no #{element_id} in the page"
    return json.loads(found.group(1))


def test_the_shell_speaks_english_and_french_and_hands_its_words_to_the_script(door_club):
    english = page(door_club, f"/e/{door_club.orgid}/scan")
    assert english.status_code == 200 and english.headers["Content-Language"] == "en"
    assert "Sign in with your staff account" in text(english)
    words = _json_script(english, "scan-catalogue")
    assert words["words"]["admitted"] == "Admitted"
    assert words["refusals"]["already_checked_in"] == "Already checked in."
    settings = _json_script(english, "scan-settings")
    assert settings == {"org": door_club.orgid, "scanPath": f"/e/{door_club.orgid}/scan",
                        "worker": f"/e/{door_club.orgid}/scan/sw.js", "language": "en",
                        "decoderWorker": "/e/_assets/scan/decode-worker.js",
                        "evaluator": "/e/_assets/scan/door-evaluator.js"}
    body = english.get_data(as_text=True)
    assert f'<link rel="manifest" href="/e/{door_club.orgid}/scan/manifest.webmanifest">' in body
    assert '<script type="module" src="/e/_assets/scan/app.js">' in body

    french = page(door_club, f"/e/{door_club.orgid}/scan?lang=fr")
    assert french.headers["Content-Language"] == "fr"
    assert "Connectez-vous avec votre compte" in text(french)
    mots = _json_script(french, "scan-catalogue")
    assert mots["words"]["admitted"] == "Admis" and mots["refusals"]["already_checked_in"] == "Déjà enregistré."
    untranslated = [key for key, value in {**mots["words"], **mots["refusals"]}.items()
                    if value == {**words["words"], **words["refusals"]}[key]]
    assert untranslated == []


def test_on_the_tenants_own_hostname_the_scanner_is_at_e_scan(door_club, operator):
    host = f"door.{door_club.orgid}.example"
    assert add_domain(operator, door_club, host).status_code == 201
    shell = page(door_club, "/e/scan", host=host)
    assert shell.status_code == 200
    assert _json_script(shell, "scan-settings")["scanPath"] == "/e/scan"
    worker = page(door_club, "/e/scan/sw.js", host=host)
    assert worker.headers["Service-Worker-Allowed"] == "/e/scan"


def test_the_service_worker_keeps_the_shell_and_every_file_it_needs_offline(door_club):
    root = f"/e/{door_club.orgid}/scan"
    worker = page(door_club, f"{root}/sw.js")
    assert worker.status_code == 200
    assert worker.headers["Content-Type"].startswith("text/javascript")
    assert worker.headers["Service-Worker-Allowed"] == root   # its scope is the shell's path, above its own
    source = worker.get_data(as_text=True)
    urls = json.loads(re.search(r"const OFFLINE_URLS = (\[.*?\]);", source).group(1))
    assert urls[:2] == [root, f"{root}/manifest.webmanifest"]
    for needed in ("scan/app.js", "scan/camera.js", "scan/decode-worker.js", "scan/scan.css", "scan/icon-192.png",
                   "vendor/jsQR.js", "pages.css", "door/rotating-code.js"):
        assert f"/e/_assets/{needed}" in urls
    for url in urls:
        assert page(door_club, url).status_code == 200, url
    version = re.search(r'const VERSION = "([0-9a-f]{16})";', source)
    assert version, "the worker names its release (a digest of the files it keeps)"


def test_the_manifest_makes_the_scanner_installable(door_club):
    root = f"/e/{door_club.orgid}/scan"
    answer = page(door_club, f"{root}/manifest.webmanifest", **{"Accept-Language": "fr"})
    assert answer.headers["Content-Type"] == "application/manifest+json"
    manifest = json.loads(answer.get_data(as_text=True))
    assert manifest["start_url"] == root and manifest["scope"] == root and manifest["display"] == "standalone"
    assert manifest["name"] == "Scanner d'entrée de Door Club" and manifest["lang"] == "fr"
    sizes = set()
    for icon in manifest["icons"]:
        png = page(door_club, icon["src"])
        assert png.status_code == 200 and png.headers["Content-Type"] == "image/png"
        width, height = Image.open(io.BytesIO(png.get_data())).size
        assert icon["sizes"] == f"{width}x{height}"
        sizes.add(width)
    assert {192, 512} <= sizes


def test_a_tenant_without_pages_has_no_scanner(app, door_club):
    other = pages_tenant(app, name="No Pages", plugins=("offline",))
    answer = page(other, f"/e/{other.orgid}/scan")
    assert answer.status_code == 404 and answer.get_json()["type"] == "plugin_not_enabled"
    assert page(door_club, f"/e/{door_club.orgid}/scan/other.js").status_code == 404

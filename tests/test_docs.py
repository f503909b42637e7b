"""Documentation: the MkDocs site builds strictly, the README stays short and its links and the chapters' links
resolve, the reference pages cover every setting and hook, and /docs and /redoc work with no internet.
"""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from procs import ROOT

README = ROOT / "README.md"
DOCS = ROOT / "docs"
README_MAX_LINES = 250
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")  # [text](target), also inside images


def _pages() -> list[Path]:
    return [README, *sorted(DOCS.glob("*.md"))]


# --- the site and the pages ----------------------------------------------------------------------------


def test_mkdocs_builds_the_site_strictly(tmp_path):
    """`mkdocs build --strict` fails on any warning: a broken link, a page missing from the nav, a snippet file
    that does not exist."""
    site = tmp_path / "site"
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "-d", str(site)],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNING" not in result.stderr, result.stderr
    plugins_page = (site / "plugins" / "index.html").read_text()
    assert "def register_routes" in plugins_page  # the sample plugin's code, included from the tested file
    assert (site / "architecture" / "index.html").exists() and (site / "operations" / "index.html").exists()


def test_readme_is_short_and_copies_no_chapter():
    lines = README.read_text().splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines (at most {README_MAX_LINES})"
    prose = {line.strip() for line in lines if len(line.strip()) >= 60}
    for chapter in DOCS.glob("*.md"):
        copied = prose & {line.strip() for line in chapter.read_text().splitlines()}
        assert copied == set(), f"README copies lines of {chapter.name}; link to it instead: {sorted(copied)[:3]}"


@pytest.mark.parametrize("page", _pages(), ids=lambda p: p.name)
def test_every_relative_link_resolves(page):
    broken = []
    for target in LINK.findall(page.read_text()):
        if re.match(r"^[a-z]+:", target) or target.startswith("#"):
            continue  # another site, mailto:, or a heading of the same page
        path = target.split("#", 1)[0]
        if not (page.parent / path).exists():
            broken.append(target)
    assert broken == [], f"{page.name} links to missing files: {broken}"


def test_operations_documents_exactly_the_settings_that_exist():
    from core.config import Config

    documented = set(re.findall(r"^\| `(BOXOFFICE_[A-Z_]+)` \|", (DOCS / "operations.md").read_text(), re.MULTILINE))
    assert documented == set(Config.ENV.values())


def test_plugins_page_documents_exactly_the_hooks_and_includes_the_tested_sample():
    from core import hookspecs

    page = (DOCS / "plugins.md").read_text()
    hooks = {name for name, fn in inspect.getmembers(hookspecs, inspect.isfunction) if hasattr(fn, "boxoffice_spec")}
    assert set(re.findall(r"^#### `(\w+)`$", page, re.MULTILINE)) == hooks  # one section per hook, no stale one
    included = re.findall(r'^--8<-- "([^"]+)"$', page, re.MULTILINE)
    assert {"tests/sample_plugin/pyproject.toml", "tests/sample_plugin/boxoffice_sample/__init__.py"} <= set(included)


# --- /docs and /redoc offline --------------------------------------------------------------------------


class _AssetRefs(HTMLParser):
    """The URLs a page loads: <script src> and <link href>."""

    def __init__(self):
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if tag == "script" and values.get("src"):
            self.urls.append(values["src"])
        elif tag == "link" and values.get("href"):
            self.urls.append(values["href"])


def _page_assets(client, path: str) -> tuple[str, list[str]]:
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    assert response.mimetype == "text/html"
    parser = _AssetRefs()
    parser.feed(response.get_data(as_text=True))
    return response.get_data(as_text=True), parser.urls


@pytest.mark.parametrize(("path", "marker", "expected"), [
    ("/docs", "SwaggerUIBundle", {"swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js"}),
    ("/docs/", "SwaggerUIBundle", {"swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js"}),
    ("/api/docs", "SwaggerUIBundle", {"swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js"}),
    ("/redoc", "<redoc", {"redoc.standalone.js"}),
    ("/redoc/", "<redoc", {"redoc.standalone.js"}),
])
def test_doc_pages_load_every_asset_from_this_server(app, path, marker, expected):
    client = app.test_client()
    html, urls = _page_assets(client, path)
    assert marker in html and "/openapi.json" in html
    assert {url.rsplit("/", 1)[1] for url in urls} == expected
    for url in urls:
        assert url.startswith("/docs/assets/"), f"{path} loads {url} from elsewhere"
        asset = client.get(url)
        assert asset.status_code == 200, url
        body = asset.get_data()
        if url.endswith(".js"):
            assert asset.mimetype in {"text/javascript", "application/javascript"} and len(body) > 100_000, url
        else:
            assert asset.mimetype == "text/css" and b".swagger-ui" in body, url
        assert b"cdn.jsdelivr" not in body and b"unpkg.com" not in body


def test_swagger_ui_bundle_defines_the_function_the_page_calls(app):
    client = app.test_client()
    bundle = client.get("/docs/assets/swagger-ui/swagger-ui-bundle.js").get_data()
    assert b"SwaggerUIBundle" in bundle
    redoc = client.get("/docs/assets/redoc/redoc.standalone.js").get_data()
    assert b"Redoc" in redoc


@pytest.mark.parametrize("url", ["/docs/assets/nothing/x.js", "/docs/assets/redoc/missing.js",
                                 "/docs/assets/redoc/../../app.py", "/docs/assets/swagger-ui/%2e%2e/__init__.py"])
def test_anything_else_under_assets_is_a_json_404(app, url):
    response = app.test_client().get(url)
    assert response.status_code == 404
    assert response.get_json()["type"] == "not_found"

"""Swagger UI (`/docs`, `/docs/`) and ReDoc (`/redoc`) from files installed with the app, so they work offline.

Serves the two kits' static files and tells flask-smorest where they are; it never renders a page itself
and never points a browser at another host.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Flask, send_from_directory
from swagger_ui_bundle import swagger_ui_path

from core.errors import NotFound
from core.tenancy import tenant_exempt

ASSETS_URL = "/docs/assets"
# Each kit's folder: Swagger UI from the `swagger-ui-bundle` package, ReDoc vendored (core/static/redoc/VERSION).
KITS = {
    "swagger-ui": Path(swagger_ui_path),
    "redoc": Path(__file__).resolve().parent.parent / "static" / "redoc",
}
ONE_DAY = 24 * 60 * 60

# flask-smorest's settings for its doc pages (its own templates load the kits from these URLs).
DOCS_UI_SETTINGS = {
    "OPENAPI_SWAGGER_UI_PATH": "docs",
    "OPENAPI_SWAGGER_UI_URL": f"{ASSETS_URL}/swagger-ui/",
    "OPENAPI_REDOC_PATH": "redoc",
    "OPENAPI_REDOC_URL": f"{ASSETS_URL}/redoc/redoc.standalone.js",
}

blp = tenant_exempt(Blueprint("docs-assets", __name__))


@blp.route(f"{ASSETS_URL}/<kit>/<path:filename>")
def asset(kit: str, filename: str):
    """One static file of a documentation kit (404 `not_found` for anything else)."""
    folder = KITS.get(kit)
    if folder is None:
        raise NotFound(f"No documentation kit {kit!r}.", type="not_found")
    return send_from_directory(folder, filename, max_age=ONE_DAY)


def register_docs_ui(app: Flask) -> None:
    """Serve the kits' files, and the Swagger UI and ReDoc pages also with a trailing slash.

    Call after `flask_smorest.Api(app)`, whose doc blueprint owns the pages: `/docs/` and `/redoc/` are
    more rules for the same views.
    """
    app.register_blueprint(blp)
    for path, view in (("docs", "openapi_swagger_ui"), ("redoc", "openapi_redoc")):
        app.add_url_rule(f"/{path}/", endpoint=f"api-docs.{view}")

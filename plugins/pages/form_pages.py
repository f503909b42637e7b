"""What every page with a POST form shares: the CSRF token in its context and cookie, a form read through a core
API schema, a refusal shown in the page, and the redirect after a POST that worked.

Never decides anything itself: schemas and services are the core's; a refusal changes nothing.
"""

from __future__ import annotations

from flask import Response, redirect, request
from marshmallow import ValidationError

from core.api_schema import Schema
from core.errors import ApiError, Unprocessable
from plugins.pages import csrf
from plugins.pages.addressing import Site
from plugins.pages.i18n import Speaker
from plugins.pages.page_problems import problem_text
from plugins.pages.views import render


def render_form_page(site: Site, speaker: Speaker, template: str, *, error: ApiError | None = None,
                     **context) -> Response:
    """`render` with the form's CSRF token (`csrf_token`) and, after a refusal, its translated `problem`, the
    fields it names (`bad_fields`) and the refusal's status."""
    body = render(site, speaker, template, status=error.status if error else 200, csrf_token=csrf.form_token(),
                  problem=problem_text(speaker, error) if error else None,
                  bad_fields=set((error.errors or {}) if error else ()), **context)
    return csrf.remember(body)


def read_form(schema: Schema, names: dict[str, str]) -> dict:
    """The POSTed form fields `names` (form name -> schema field) loaded through the core's `schema` (a blank
    field is left out); 422 `validation_error` naming the form fields otherwise."""
    raw = {field: request.form.get(name, "").strip() for name, field in names.items()}
    try:
        return schema.load({field: value for field, value in raw.items() if value})
    except ValidationError as exc:
        by_field = {field: name for name, field in names.items()}
        raise Unprocessable("Some fields need your attention.", type="validation_error",
                            errors={by_field.get(field, field): messages
                                    for field, messages in exc.normalized_messages().items()}) from exc


def see_other(path: str) -> Response:
    """The answer to a POST that worked: 303 to the page to show next (a reload does not post again)."""
    return redirect(path, code=303)


def safe_next(site: Site, wanted: str | None, default: str) -> str:
    """`wanted` when it is a path of this tenant's pages (no other site, no scheme), else `default`."""
    root = site.root_path() + "/"
    if wanted and wanted.startswith(root) and "//" not in wanted and "\\" not in wanted:
        return wanted
    return default


def check_same_password() -> None:
    """422 `passwords_differ` when the form's `password` and `password_again` (a new password typed twice)
    differ; the core's services judge the password itself."""
    if request.form.get("password", "") != request.form.get("password_again", ""):
        raise Unprocessable("The two passwords differ.", type="passwords_differ",
                            errors={"password_again": ["not the same password"]})

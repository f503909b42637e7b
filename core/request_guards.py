"""The core's `before_request` steps, in the order every request passes them: NUL check, tenant, caller.

Only refuses what no view may see; never reads or writes tenant data itself (tenancy and auth do).
"""

from __future__ import annotations

from collections.abc import Callable

from flask import request
from werkzeug.wrappers import Response

from core.auth import load_identity
from core.errors import BadRequest, Unprocessable
from core.json_body import MAX_JSON_DEPTH, lone_surrogates, too_deep
from core.tenancy import resolve_tenant

NUL_IN_JSON = (b"\x00", b"\\u0000")  # a raw NUL byte, or one escaped inside a JSON string
LONE_SURROGATE = "Contains an unpaired UTF-16 surrogate, which cannot be stored."


def reject_nul_bytes() -> None:
    """before_request: NUL characters in the path, the query or a JSON body are refused with 400
    `invalid_characters` (PostgreSQL cannot store one in a text column)."""
    found = "\x00" in request.path or b"%00" in request.query_string
    if not found and request.mimetype == "application/json":
        body = request.get_data(cache=True)
        found = any(marker in body for marker in NUL_IN_JSON)
    if found:
        raise BadRequest("NUL characters are not allowed in requests.", type="invalid_characters")


def check_json_body() -> None:
    """before_request: a JSON body over the size limit is a 413 `body_too_large` (reading it raises),
    one nested deeper than MAX_JSON_DEPTH a 400 `json_too_deep` (before a parser recurses), and one whose
    strings hold an unpaired surrogate a 422 `invalid_characters` naming the fields."""
    if not request.is_json:
        return
    body = request.get_data(cache=True)
    if too_deep(body):
        raise BadRequest(f"JSON may nest arrays and objects at most {MAX_JSON_DEPTH} levels deep.",
                         type="json_too_deep")
    errors = lone_surrogates(body, LONE_SURROGATE)
    if errors:
        raise Unprocessable("The request body holds text that cannot be stored; see `errors`.",
                            type="invalid_characters", errors={"json": errors})


def check_request_text() -> None:
    """before_request: what no view may read, in one hook (each hook costs Flask a dispatch per request):
    `reject_nul_bytes`, then `check_json_body`."""
    reject_nul_bytes()
    check_json_body()


# The core's before_request steps, in order (`create_app` runs them, after the CORS preflight, as one hook).
CORE_BEFORE_REQUEST = (check_request_text, resolve_tenant, load_identity)


def in_order(*steps: Callable[[], Response | None]) -> Callable[[], Response | None]:
    """One `before_request` hook running `steps` in order, as Flask runs its hooks: the first that returns an
    answer ends the request with it. Flask costs a dispatch per registered hook on every request, so the core
    registers its steps as this one hook."""
    def run_steps() -> Response | None:
        for step in steps:
            answer = step()
            if answer is not None:
                return answer
        return None

    run_steps.__doc__ = "before_request: " + ", ".join(step.__name__ for step in steps) + ", in order."
    return run_steps

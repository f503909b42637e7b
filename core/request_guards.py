"""What every request passes before any view runs: the core `before_request` hooks, in order, and the NUL
check among them. The checks are pure functions of what was sent (`contains_nul`,
`tenancy.org_for_header`, `auth.identity_for_header`), so the fast lane (`core.api.fastlane`) applies
exactly the same ones without a Flask request.
"""

from __future__ import annotations

from core.auth import load_identity
from core.errors import BadRequest
from core.tenancy import resolve_tenant

NUL_IN_JSON = (b"\x00", b"\\u0000")  # a raw NUL byte, or one escaped inside a JSON string


def contains_nul(path: str, query_string: bytes, json_body: bytes | None) -> bool:
    """True when the path, the raw query string or a JSON body carries a NUL character (PostgreSQL
    cannot store one in a text column). `json_body` is None for requests that are not JSON."""
    if "\x00" in path or b"%00" in query_string:
        return True
    return json_body is not None and any(marker in json_body for marker in NUL_IN_JSON)


def reject_nul_bytes() -> None:
    """before_request: NUL characters in the path, query or a JSON body are refused with 400
    `invalid_characters`."""
    from flask import request

    body = request.get_data(cache=True) if request.mimetype == "application/json" else None
    if contains_nul(request.path, request.query_string, body):
        raise BadRequest("NUL characters are not allowed in requests.", type="invalid_characters")


# The core's before_request hooks, in the order `create_app` registers them: NUL check, tenant, caller.
CORE_BEFORE_REQUEST = (reject_nul_bytes, resolve_tenant, load_identity)

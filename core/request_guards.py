"""The core `before_request` hooks, in the order every request passes them: NUL check, tenant, caller.

Only refuses what no view may see; never reads or writes tenant data itself (tenancy and auth do).
"""

from __future__ import annotations

from flask import request

from core.auth import load_identity
from core.errors import BadRequest
from core.tenancy import resolve_tenant

NUL_IN_JSON = (b"\x00", b"\\u0000")  # a raw NUL byte, or one escaped inside a JSON string


def reject_nul_bytes() -> None:
    """before_request: NUL characters in the path, the query or a JSON body are refused with 400
    `invalid_characters` (PostgreSQL cannot store one in a text column)."""
    found = "\x00" in request.path or b"%00" in request.query_string
    if not found and request.mimetype == "application/json":
        body = request.get_data(cache=True)
        found = any(marker in body for marker in NUL_IN_JSON)
    if found:
        raise BadRequest("NUL characters are not allowed in requests.", type="invalid_characters")


# The core's before_request hooks, in the order `create_app` registers them.
CORE_BEFORE_REQUEST = (reject_nul_bytes, resolve_tenant, load_identity)

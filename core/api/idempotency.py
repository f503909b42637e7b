"""The `Idempotency-Key` view decorator: wraps a POST view so repeats replay the first response.

Thin HTTP glue over `core.services.idempotency`; it never decides anything about the operation itself.
"""

from __future__ import annotations

import copy
import functools

from flask import Response, jsonify, request

from core.auth import current_identity
from core.services.idempotency import MAX_KEY_LENGTH, StoredResponse, request_fingerprint, run_once
from core.tenancy import current_org

HEADER = "Idempotency-Key"
REPLAY_HEADER = "Idempotent-Replayed"

_HEADER_DOC = {
    "in": "header", "name": HEADER, "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH},
    "description": "Send a unique key to make retries safe: the same key and body replay the first response "
                   "(with `Idempotent-Replayed: true`); the same key with another body is a 422.",
}


def idempotent(func):
    """View decorator (put it above `@blp.arguments`): honour the `Idempotency-Key` header when sent."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None:
            return func(*args, **kwargs)
        produced: list[Response] = []

        def operation() -> StoredResponse:
            response = func(*args, **kwargs)
            produced.append(response)
            return StoredResponse(response.status_code, response.get_json(silent=True) or {})

        identity = current_identity()
        fingerprint = request_fingerprint(request.method, request.path, request.get_json(silent=True),
                                          identity.sub if identity else "")
        endpoint = f"{request.method} {request.url_rule.rule}"
        stored = run_once(current_org().id, endpoint, key, fingerprint, operation)
        if produced and not stored.replayed:
            return produced[0]
        response = jsonify(stored.body)
        response.status_code = stored.status
        response.headers[REPLAY_HEADER] = "true"
        return response

    apidoc = copy.deepcopy(getattr(func, "_apidoc", {}))
    apidoc.setdefault("manual_doc", {}).setdefault("parameters", []).append(_HEADER_DOC)
    wrapper._apidoc = apidoc
    return wrapper

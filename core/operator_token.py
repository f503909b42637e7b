"""The deployment operator's credential: `Authorization: Bearer <BOXOFFICE_OPERATOR_TOKEN>`, checked in one place
for the operator API and the metrics endpoint.

Compares in constant time and never logs or echoes the token.
"""

from __future__ import annotations

import hmac

from flask import current_app, request

from core.errors import Unauthorized


def require_operator_token() -> None:
    """Raise 401 `invalid_operator_token` unless the request carries the deployment's operator token."""
    expected = current_app.config["BOXOFFICE"].operator_token
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if (not expected or scheme.lower() != "bearer"
            or not hmac.compare_digest(token.strip().encode(), expected.encode())):
        raise Unauthorized("Send the operator token as `Authorization: Bearer <token>`.",
                           type="invalid_operator_token")

"""Redirect payments over HTTP: a booking's payment page at its provider (the way back is in `payment_webhooks`).

Parses and answers only; the token checks and the confirmation live in `core.services.payment_redirects`.
"""

from __future__ import annotations

from marshmallow import fields, validate

from core.api.blueprint import Blueprint
from core.api_schema import Schema
from core.services import payment_redirects
from core.tenancy import current_org

blp = Blueprint("payment_redirects", __name__, description="Paying on the provider's own page (redirect flows)")

_URL = validate.URL(schemes={"http", "https"}, require_tld=False)


class RedirectIn(Schema):
    """Body of POST /client/events/payments/redirect."""

    bookingId = fields.String(required=True, validate=validate.Length(1, 64))
    returnUrl = fields.String(required=True, validate=[validate.Length(max=2000), _URL], metadata={
        "description": "where the buyer lands afterwards, with bookingId, status and reason in the query"})


class RedirectOut(Schema):
    """Where to send the buyer: a `url`, or a `form` to post."""

    bookingId = fields.String()
    paymentGateway = fields.String()
    url = fields.String(allow_none=True)
    form = fields.Dict(allow_none=True, metadata={"description": "{action, fields} for a signed form post"})


@blp.route("/client/events/payments/redirect", methods=["POST"])
@blp.arguments(RedirectIn)
@blp.response(200, RedirectOut)
def payment_redirect(data):
    """The pending booking's payment page at its provider (422 `payment_step_unsupported` if it has none)."""
    return payment_redirects.start(current_org(), data["bookingId"], data["returnUrl"])

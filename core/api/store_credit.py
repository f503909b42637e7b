"""A customer's store credit (`GET /client/account/credit`): what each credit granted, what is left, until when,
and the refund it came from.

Thin view over `core.services.store_credit`; never grants or spends credit.
"""

from __future__ import annotations

import datetime as dt

from flask.views import MethodView
from marshmallow import fields

from core.api.blueprint import Blueprint
from core.api_schema import Schema
from core.auth import current_identity, require_role
from core.models import StoreCredit, utcnow
from core.services import store_credit
from core.tenancy import current_org
from core.timefmt import iso_utc

blp = Blueprint("store_credit", __name__, description="Customers: my store credit")


class BalanceView(Schema):
    """What the customer can spend now in one currency (unexpired credit left)."""

    currency = fields.String()
    available = fields.Integer(metadata={"description": "Minor units"})


class CreditView(Schema):
    """One credit: granted by a store-credit refund."""

    id = fields.String()
    amount = fields.Integer(metadata={"description": "Granted, minor units"})
    remaining = fields.Integer(metadata={"description": "Not spent yet (also when expired), minor units"})
    currency = fields.String()
    expiresAt = fields.String(allow_none=True, metadata={"description": "null: never expires"})
    expired = fields.Boolean()
    refundId = fields.String(allow_none=True)
    bookingId = fields.String(allow_none=True, metadata={"description": "The booking it paid back"})
    createdAt = fields.String()


class CreditAccountView(Schema):
    """My store credit with this organisation."""

    balances = fields.List(fields.Nested(BalanceView))
    credits = fields.List(fields.Nested(CreditView))


class CreditEnvelope(Schema):
    data = fields.Nested(CreditAccountView)


def credit_view(credit: StoreCredit, now: dt.datetime) -> dict:
    """A credit as its customer sees it (the staff's internal note is not shown)."""
    return {"id": credit.id, "amount": credit.amount, "remaining": credit.remaining, "currency": credit.currency,
            "expiresAt": iso_utc(credit.expires_at),
            "expired": credit.expires_at is not None and credit.expires_at <= now,
            "refundId": credit.refund_id, "bookingId": credit.booking_id, "createdAt": iso_utc(credit.created_at)}


@blp.route("/client/account/credit")
class MyCredit(MethodView):
    @require_role("customer")
    @blp.response(200, CreditEnvelope)
    def get(self):
        """My store credit: the balance I can spend per currency (at checkout with `useStoreCredit: true`) and
        each credit, newest first."""
        credits = store_credit.customer_credits(current_org(), current_identity().sub)
        now = utcnow()
        totals = store_credit.balances(credits, now)
        return {"data": {"balances": [{"currency": c, "available": totals[c]} for c in sorted(totals)],
                         "credits": [credit_view(credit, now) for credit in credits]}}

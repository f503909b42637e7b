"""The club's officers over HTTP: an admin lists them and grants or revokes the role of a customer account
(`/org/officers`).

Thin views over `core.services.accounts.set_officer` / `list_officers`; an officer API key is issued, or a staff
key made an officer, by an admin at `/org/api-keys` (`core.api.api_keys`) or by the operator.
"""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import fields

from core.api.blueprint import Blueprint
from core.api_schema import Schema
from core.auth import require_role
from core.models import Customer
from core.roles import ADMINS
from core.services import accounts
from core.tenancy import current_org
from core.timefmt import iso_utc

blp = Blueprint("officers", __name__, description="The club's officers: customer accounts an admin made officers")


class OfficerSchema(Schema):
    customerId = fields.String()
    email = fields.String()
    name = fields.String()
    username = fields.String(allow_none=True)
    officer = fields.Boolean(metadata={"description": "false after a revocation"})
    updatedAt = fields.String()


class OfficerList(Schema):
    officers = fields.List(fields.Nested(OfficerSchema))


def officer_view(customer: Customer) -> dict:
    """One customer account as the officers routes show it."""
    return {"customerId": customer.id, "email": customer.email, "name": customer.name,
            "username": customer.username, "officer": customer.officer, "updatedAt": iso_utc(customer.updated_at)}


@blp.route("/org/officers")
class Officers(MethodView):
    @require_role(ADMINS, scope="admin")
    @blp.response(200, OfficerList)
    def get(self):
        """The customer accounts that hold the officer role (admin only)."""
        return {"officers": [officer_view(c) for c in accounts.list_officers(current_org())]}


@blp.route("/org/officers/<customer_id>")
class Officer(MethodView):
    @require_role(ADMINS, scope="admin")
    @blp.response(200, OfficerSchema)
    def put(self, customer_id):
        """Make a customer account an officer (admin only; idempotent): signed in to the same client login, it
        may view the club's tickets, check them in and set attendance. 404 `customer_not_found`."""
        return officer_view(accounts.set_officer(current_org(), customer_id, True))

    @require_role(ADMINS, scope="admin")
    @blp.response(200, OfficerSchema)
    def delete(self, customer_id):
        """Revoke a customer account's officer role (admin only; idempotent); its tokens are refused officer
        routes from their next request. 404 `customer_not_found`."""
        return officer_view(accounts.set_officer(current_org(), customer_id, False))

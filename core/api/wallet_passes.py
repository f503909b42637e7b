"""Apple Wallet pass downloads: the owner's `GET /client/events/tickets/<id>/wallet.pkpass` and staff
`GET /events/tickets/<id>/wallet.pkpass`, beside the PDF routes (`core.api.ticket_pdf`).

Thin views over `core.services.wallet_passes`; a ticket that is not the caller's (or not this tenant's) is a 404,
never a 403 that would confirm it exists.
"""

from __future__ import annotations

from flask import Response
from flask.views import MethodView

from core.api.blueprint import Blueprint
from core.auth import current_identity, require_role
from core.models import Org, Ticket
from core.roles import READERS
from core.services import ticket_queries
from core.services.wallet_passes import PKPASS_MIMETYPE, pkpass_filename, render_pkpass
from core.tenancy import current_org

blp = Blueprint("wallet_passes", __name__, description="Apple Wallet passes of tickets")

PKPASS_DOC = {"responses": {"200": {"description": "The ticket as a signed Apple Wallet pass",
                                    "content": {PKPASS_MIMETYPE: {"schema": {"type": "string",
                                                                             "format": "binary"}}}}}}
PKPASS_ERRORS = {404: "`ticket_not_found`",
                 409: "`wallet_not_configured` (no pass certificate), `wallet_certificate_unusable`, "
                      "`wallet_template_not_configured` (no template applies)"}


def pkpass_response(org: Org, ticket: Ticket) -> Response:
    """The ticket's pass as an uncached download."""
    response = Response(render_pkpass(org, ticket), mimetype=PKPASS_MIMETYPE)
    response.headers["Content-Disposition"] = f'attachment; filename="{pkpass_filename(ticket)}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@blp.route("/client/events/tickets/<ticket_id>/wallet.pkpass")
class CustomerTicketPass(MethodView):
    """A customer's own ticket as a pass."""

    @require_role("customer")
    @blp.doc(**PKPASS_DOC)
    @blp.error_responses(PKPASS_ERRORS)
    def get(self, ticket_id: str) -> Response:
        """Add one of my tickets to Apple Wallet (404 for tickets that are not mine)."""
        org = current_org()
        return pkpass_response(org, ticket_queries.owned_ticket(org, ticket_id, current_identity().sub))


@blp.route("/events/tickets/<ticket_id>/wallet.pkpass")
class StaffTicketPass(MethodView):
    """Any ticket of the organisation as a pass, for staff."""

    @require_role(READERS, scope="read")
    @blp.doc(**PKPASS_DOC)
    @blp.error_responses(PKPASS_ERRORS)
    def get(self, ticket_id: str) -> Response:
        """Any ticket of this organisation as an Apple Wallet pass (to send or hand to its holder)."""
        org = current_org()
        return pkpass_response(org, ticket_queries.staff_ticket(org, ticket_id))

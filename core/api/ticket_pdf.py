"""PDF ticket downloads: the owner's `GET /client/events/tickets/<id>/pdf` and staff `GET /events/tickets/<id>/pdf`.

Thin views over `core.services.ticket_pdf`; a ticket that is not the caller's (or not this tenant's) is a 404,
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
from core.services.ticket_pdf import render_ticket_pdf, ticket_pdf_filename
from core.tenancy import current_org

blp = Blueprint("ticket_pdf", __name__, description="Printable PDF tickets")

PDF_DOC = {"responses": {"200": {"description": "The ticket as a one-page PDF",
                                  "content": {"application/pdf": {"schema": {"type": "string",
                                                                             "format": "binary"}}}}}}
PDF_ERRORS = {404: "`ticket_not_found`"}


def pdf_response(org: Org, ticket: Ticket) -> Response:
    """The ticket's PDF as an inline, uncached download."""
    body = render_ticket_pdf(org, ticket)
    response = Response(body, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="{ticket_pdf_filename(ticket)}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@blp.route("/client/events/tickets/<ticket_id>/pdf")
class CustomerTicketPdf(MethodView):
    @require_role("customer")
    @blp.doc(**PDF_DOC)
    @blp.error_responses(PDF_ERRORS)
    def get(self, ticket_id: str):
        """Download one of my tickets as a PDF (404 for tickets that are not mine)."""
        org = current_org()
        return pdf_response(org, ticket_queries.owned_ticket(org, ticket_id, current_identity().sub))


@blp.route("/events/tickets/<ticket_id>/pdf")
class StaffTicketPdf(MethodView):
    @require_role(READERS, scope="read")
    @blp.doc(**PDF_DOC)
    @blp.error_responses(PDF_ERRORS)
    def get(self, ticket_id: str):
        """Download any ticket of this organisation as a PDF (to print at the box office)."""
        org = current_org()
        return pdf_response(org, ticket_queries.staff_ticket(org, ticket_id))

"""The ticket PDF download link an e-mail carries instead of an attachment (`GET /tickets/pdf/<pdf_token>`), and
the link to one PDF holding several tickets that a partner's sale answers (`GET /tickets/pdfs/<tickets_token>`).

Served without `orgid` or a login: the signed token names the tenant and the ticket (`core.services.ticket_pdf`);
a forged, altered or expired token is a 404, like a ticket that does not exist.
"""

from __future__ import annotations

from flask import Response

from core.api.blueprint import Blueprint
from core.api.ticket_pdf import PDF_DOC, PDF_ERRORS, pdf_response
from core.services.ticket_pdf import (
    PDF_LINK_PATH,
    TICKETS_PDF_PATH,
    render_tickets_pdf,
    ticket_for_pdf_link,
    tickets_for_pdf_link,
)
from core.tenancy import tenant_exempt

blp = tenant_exempt(Blueprint("ticket_pdf_links", __name__,
                              description="Ticket PDF download links from e-mails (signed; no orgid header)"))


@blp.route(PDF_LINK_PATH + "<pdf_token>", methods=["GET"])
@blp.doc(**PDF_DOC)
@blp.error_responses(PDF_ERRORS)
def ticket_pdf_link(pdf_token: str):
    """Download a ticket's PDF through the signed link of its e-mail (ticket types whose configuration is not
    `attachable`); 404 `ticket_not_found` for a link that is invalid or expired."""
    org, ticket = ticket_for_pdf_link(pdf_token)
    return pdf_response(org, ticket)


@blp.route(TICKETS_PDF_PATH + "<tickets_token>", methods=["GET"])
@blp.doc(responses={"200": {"description": "The tickets as one PDF, a page each with its QR",
                            "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}}})
@blp.error_responses({404: "`tickets_not_found`"})
def tickets_pdf_link(tickets_token: str):
    """Download the tickets a partner sale issued (one ticket type of one booking) as one PDF, through the
    signed, expiring link of its answer; 404 `tickets_not_found` for a link that is invalid or expired."""
    org, tickets = tickets_for_pdf_link(tickets_token)
    response = Response(render_tickets_pdf(org, tickets), mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="tickets-{tickets[0].booking_id}.pdf"'
    response.headers["Cache-Control"] = "private, no-store"
    return response

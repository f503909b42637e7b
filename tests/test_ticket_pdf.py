"""PDF tickets: owner and staff downloads, 404 for strangers and other tenants, local time and QR inside."""

from __future__ import annotations

import re

import pytest
from smtp_server import make_tickets


@pytest.fixture
def owned(tenant):
    fan = tenant.customer(name="Zoë Ünïcode")
    _, tickets = make_tickets(tenant.orgid, 1, email_to=fan.email, name="Zoë Ünïcode",
                              customer_id=fan.customer_id)
    return fan, tickets[0]


def _images_in(pdf: bytes) -> int:
    return len(re.findall(rb"/Subtype\s*/Image", pdf))


def test_owner_downloads_pdf_with_qr_image(owned):
    fan, ticket = owned
    response = fan.get(f"/client/events/tickets/{ticket.id}/pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF-") and response.data.rstrip().endswith(b"%%EOF")
    assert _images_in(response.data) == 1
    assert f"ticket-{ticket.id}.pdf" in response.headers["Content-Disposition"]
    assert fan.get(f"/api/client/events/tickets/{ticket.id}/pdf").status_code == 200


def test_card_shows_event_local_time_venue_holder(owned, tenant, db):
    from core.models import Org, Ticket
    from core.services.ticket_pdf import ticket_card

    fan, ticket = owned
    card = ticket_card(Org.get_by_id(tenant.orgid), Ticket.get_by_id(ticket.id))
    assert card["event"] == "Concert de Jazz" and card["organiser"] == "Tenant A"
    assert card["when"] == "Fri 14 Mar 2031, 19:30 (Europe/Paris)"  # 18:30 UTC in the event's timezone
    assert card["where"].startswith("Salle Pleyel\n252 Rue du Faubourg")
    assert card["holder"] == f"Zoë Ünïcode <{fan.email}>"
    assert (card["ticketType"], card["seats"], card["ticketId"], card["void"]) == ("VIP", "1", ticket.id, False)


def test_void_ticket_pdf_has_no_qr(owned, tenant):
    from core.db import db
    from core.models import Ticket

    _, ticket = owned
    with db.connection_context():
        Ticket.update(status="refunded").where(Ticket.id == ticket.id).execute()
    response = tenant.staff.get(f"/events/tickets/{ticket.id}/pdf")
    assert response.status_code == 200 and _images_in(response.data) == 0


def test_other_customer_guest_and_other_tenant_get_no_pdf(owned, tenant, other_tenant):
    fan, ticket = owned
    stranger = tenant.customer()
    response = stranger.get(f"/client/events/tickets/{ticket.id}/pdf")
    assert response.status_code == 404 and response.get_json()["type"] == "ticket_not_found"
    assert tenant.guest.get(f"/client/events/tickets/{ticket.id}/pdf").status_code == 401
    foreign = other_tenant.staff.get(f"/events/tickets/{ticket.id}/pdf")
    assert foreign.status_code == 404 and foreign.get_json()["type"] == "ticket_not_found"
    assert tenant.staff.get("/events/tickets/not-a-ticket/pdf").status_code == 404
    assert fan.get(f"/events/tickets/{ticket.id}/pdf").status_code == 403


def test_staff_downloads_any_ticket(owned, tenant):
    _, ticket = owned
    response = tenant.staff.get(f"/events/tickets/{ticket.id}/pdf")
    assert response.status_code == 200 and response.data.startswith(b"%PDF-")

"""The order page (`/e/{org}/orders/{token}`, a booking's tickets by the signed link of its confirmation e-mail)
and one ticket's page (`/e/{org}/tickets/{token}`, where a claimed ticket lives), each ticket with its QR, PDF,
Apple Wallet pass and a transfer form.

Views hold no rule: the booking, its tickets and the transfer are the core's (`booking`, `transfers`, with the
API's `TransferSchema`); a token of another tenant or a ticket that is not on the page is a 404.
"""

from __future__ import annotations

from flask import Response, request

from core.api.staff_tickets import TransferSchema
from core.errors import ApiError, NotFound
from core.models import Booking, Ticket
from core.services import booking as bookings
from core.services import transfers
from core.tenancy import get_scoped
from plugins.pages import addressing, csrf, customer_session
from plugins.pages.addressing import Address, Site
from plugins.pages.form_pages import read_form, render_form_page, see_other
from plugins.pages.i18n import Speaker
from plugins.pages.order_links import booking_id_of, ticket_of, ticket_token
from plugins.pages.ticket_cards import ticket_cards
from plugins.pages.views import PAGES, not_found_page, speaker_for

TRANSFER_FIELDS = {"to_email": "toEmail", "to_name": "toName"}
USERNAME_FIELDS = {"username": "username"}


def _booking(address: Address) -> Booking | None:
    """The booking an order token of this tenant names (expired on the spot if its hold ran out), or None."""
    booking_id = booking_id_of(address.site.org, address.token)
    if booking_id is None:
        return None
    try:
        return bookings.get_booking(address.site.org, booking_id)
    except NotFound:
        return None


def buyers_tickets(booking: Booking) -> list[Ticket]:
    """The tickets the booking issued to its buyer (not the ones they passed on: those are the recipients')."""
    return [t for t in bookings.booking_tickets(booking.org_id, booking.id) if t.transferred_from_id is None]


def _ticket(address: Address) -> Ticket | None:
    """The ticket a ticket page token of this tenant names, or None."""
    return ticket_of(address.site.org, address.token)


def _show(site: Site, speaker: Speaker, tickets: list[Ticket], *, booking: Booking | None,
          error: ApiError | None = None, failed_ticket: str | None = None) -> Response:
    """The order page (with `booking`) or a ticket's page, after a refused transfer of `failed_ticket` too."""
    return render_form_page(site, speaker, "pages/order.html", error=error, booking=booking,
                            cards=ticket_cards(site.org, tickets), failed_ticket=failed_ticket,
                            customer=customer_session.signed_in(site.org),
                            transferred=request.args.get("transferred"), form=request.form)


def order_page(address: Address) -> Response:
    """A booking's order page: its tickets (QR, PDF, wallet pass, holder) and their transfer forms."""
    site, speaker = address.site, speaker_for(address.site)
    booking = _booking(address)
    if booking is None:
        return not_found_page(site, speaker)
    return _show(site, speaker, buyers_tickets(booking), booking=booking)


def ticket_page(address: Address) -> Response:
    """One ticket's page (a claimed ticket's home): the same card and transfer form as the order page."""
    site, speaker = address.site, speaker_for(address.site)
    ticket = _ticket(address)
    if ticket is None:
        return not_found_page(site, speaker)
    return _show(site, speaker, [ticket], booking=None)


def _transfer(site: Site, ticket: Ticket) -> None:
    """Transfer `ticket` as the form asks: to an e-mail (a claim link is sent), or, for a signed-in customer
    who owns it, into the account a username names. The core's rules, schema and answers, as the API."""
    customer = customer_session.signed_in(site.org)
    if request.form.get("username", "").strip() and customer is not None:
        data = read_form(TransferSchema(), USERNAME_FIELDS)
        transfers.transfer_to_customer(site.org, customer, ticket.id, data["username"])
        return
    data = read_form(TransferSchema(), TRANSFER_FIELDS)
    transfers.transfer_ticket(site.org, ticket, to_email=data["toEmail"], to_name=data["toName"])


def _post_transfer(address: Address, tickets: list[Ticket], booking: Booking | None, back: str) -> Response:
    """Handle a transfer form of a page showing `tickets`; back to `back` when it worked."""
    site, speaker = address.site, speaker_for(address.site)
    wanted = request.form.get("ticket_id", "")
    ticket = next((t for t in tickets if t.id == wanted), None)
    if ticket is None:
        return not_found_page(site, speaker)
    try:
        csrf.check()
        _transfer(site, ticket)
    except ApiError as error:
        fresh = [get_scoped(Ticket, site.org, t.id, "ticket") for t in tickets]
        return _show(site, speaker, fresh, booking=booking, error=error, failed_ticket=ticket.id)
    return see_other(f"{back}?transferred={ticket.id}")


def order_transfer(address: Address) -> Response:
    """POST on the order page: transfer one of the booking's tickets."""
    booking = _booking(address)
    if booking is None:
        return not_found_page(address.site, speaker_for(address.site))
    return _post_transfer(address, buyers_tickets(booking), booking, address.site.order_path(address.token))


def ticket_transfer(address: Address) -> Response:
    """POST on a ticket's page: transfer that ticket."""
    ticket = _ticket(address)
    if ticket is None:
        return not_found_page(address.site, speaker_for(address.site))
    path = address.site.ticket_path(ticket_token(address.site.org.id, ticket.id))
    return _post_transfer(address, [ticket], None, path)


def register_pages() -> None:
    """Add the order and ticket pages to the pages' routes."""
    PAGES.update({(addressing.ORDER, "GET"): order_page, (addressing.ORDER, "POST"): order_transfer,
                  (addressing.TICKET, "GET"): ticket_page, (addressing.TICKET, "POST"): ticket_transfer})

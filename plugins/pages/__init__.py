"""Attendee pages (`/e/...`): a tenant's event index, event pages with their calendar file, the waiting room's
queue page, the checkout, the order, ticket, account and claim pages, the pages of the account e-mails'
links, the staff invitation page, the organiser's dashboard (`/e/{org}/manage`) and the door scanner (an
installable offline app shell), server-rendered in English and French from the core's services.

Adds no rule of its own (availability, prices, fees, purchases, transfers and claims are the core's); serves only
under `/e/`.
"""

from __future__ import annotations

from core.hookspecs import hookimpl

NAME = "pages"


@hookimpl
def register_routes(api, app) -> None:
    """Mount the pages blueprint (`/e/...`, plain Flask views rendering Jinja templates; not API operations)."""
    from plugins.pages import (
        account_link_views,
        account_views,
        manage_views,
        order_views,
        scan_views,
        staff_invite_views,
    )
    from plugins.pages.checkout_views import register_pages
    from plugins.pages.queue_views import register_queue_pages
    from plugins.pages.views import blp

    register_pages()
    register_queue_pages()
    order_views.register_pages()
    account_views.register_pages()
    account_link_views.register_pages()
    staff_invite_views.register_pages()
    manage_views.register_pages()
    scan_views.register_pages()
    app.register_blueprint(blp)


@hookimpl
def attendee_links(org, event, booking) -> dict[str, str]:
    """The event's page and calendar file, the booking's page and order page when there is one, the account
    page and the claim page (its token goes in `?token=`)."""
    from plugins.pages.links import attendee_links as links

    return links(org, event, booking)

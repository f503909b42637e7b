"""Notifications: emails to attendees (tickets with QR and PDF, transfer claims, refunds, cancellations), to
customers about their account (e-mail verification, password reset, change of e-mail) and staff invitations.

Hooks run from the core's outbox after the sale commits (a hook that raises is retried, its writes rolled
back); they only log the e-mail and record its delivery job, so a mail server that is down never costs a sale.
Templates are the package's files unless the tenant overrides them in its settings
(`template.<kind>.subject|text|html`); transport is the tenant's SMTP (`smtp_host`...), else
BOXOFFICE_SMTP_URL, else `.eml` files in `<data_dir>/outbox/<org>/` (see `boxoffice outbox`).
"""

from __future__ import annotations

import functools
import logging

from core.hookspecs import hookimpl

log = logging.getLogger(__name__)


def _unless_customers_muted(fn):
    """Skip a customer email while a bulk event refund/cancel runs with `notify_customer: false`."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from core.services.bulk_refund import customer_emails_muted

        if not customer_emails_muted():
            fn(*args, **kwargs)

    return wrapper


@hookimpl
def register_models():
    """The send log table (`notifications_message`)."""
    from plugins.notifications.models import Message

    return [Message]


@hookimpl
def register_routes(api, app):
    """Staff routes under /notifications; importing the service declares its jobs in every process."""
    from plugins.notifications import service  # noqa: F401 - declares the plugin's jobs
    from plugins.notifications.api import blp

    api.register_blueprint(blp)


@hookimpl
def register_commands(cli):
    """`boxoffice outbox`."""
    from plugins.notifications.cli import outbox_command

    cli.add_command(outbox_command)


@hookimpl
def tickets_issued(org, booking, tickets):
    """Email the tickets (QR inline, one PDF each) to the buyer, or to each holder when there is no booking."""
    from plugins.notifications import service  # noqa: F401 - declares the plugin's jobs

    service.tickets_issued(org, booking, list(tickets))


@hookimpl
def ticket_transferred(org, old_ticket, new_ticket, transfer, claim_token):
    """Email the recipient a claim link (`<public_url>/claim?token=...`) and the claim API call."""
    from plugins.notifications import service  # noqa: F401 - declares the plugin's jobs

    service.transfer_claim(org, old_ticket, new_ticket, transfer, claim_token)


@hookimpl
def member_invited(org, invite, invite_token):
    """Email the invitee the link to join the organisation's staff."""
    from plugins.notifications import service  # noqa: F401 - declares the plugin's jobs

    service.member_invite(org, invite, invite_token)


@hookimpl
def ticket_transferred_to_account(org, old_ticket, new_ticket, transfer):
    """Tell the sender their ticket went into the recipient's account (the recipient gets `ticket_received`
    through `ticket_claimed`)."""
    from plugins.notifications import service  # noqa: F401 - declares the plugin's jobs

    service.transfer_sent(org, old_ticket, new_ticket, transfer)


@hookimpl
def ticket_claimed(org, ticket, transfer):
    """Email the new holder their ticket once they claimed it."""
    from plugins.notifications import service  # noqa: F401 - declares the plugin's jobs

    service.ticket_received(org, ticket, transfer)


@hookimpl
def ticket_holder_changed(org, ticket, edit):
    """Email the ticket to its new holder when a holder edit changed the e-mail address."""
    from plugins.notifications import service  # noqa: F401 - declares the plugin's jobs

    service.holder_changed(org, ticket, edit)


@hookimpl
@_unless_customers_muted
def ticket_refunded(org, ticket, refund):
    """Tell the holder about the refund (also once per ticket of a bulk event refund; the event-level
    `event_refunded`/`event_cancelled` hooks are not implemented here, so nobody is emailed twice)."""
    from plugins.notifications import service  # noqa: F401 - declares the plugin's jobs

    service.ticket_refunded(org, ticket, refund)


@hookimpl
@_unless_customers_muted
def ticket_cancelled(org, ticket):
    """Tell the holder the ticket was cancelled."""
    from plugins.notifications import service  # noqa: F401 - declares the plugin's jobs

    service.ticket_cancelled(org, ticket)


@hookimpl
def customer_message(org, event, email, name, subject, body):
    """Send a staff-written e-mail (a bulk refund's `email_template`) to one buyer; not muted by
    `notify_customer: false`, since staff asked for it explicitly."""
    from plugins.notifications import service  # noqa: F401 - declares the plugin's jobs

    service.event_message(org, event, email, name, subject, body)


@hookimpl
def customer_email_verification(org, customer_id, email, name, link_token, expires_at):
    """Email the customer the link that confirms their e-mail."""
    from plugins.notifications.account_emails import account_email

    account_email(org, "email_verification", email, customer_id=customer_id, name=name, link_token=link_token,
                  expires_at=expires_at)


@hookimpl
def customer_password_reset(org, customer_id, email, name, link_token, expires_at):
    """Email the customer the link to choose a new password."""
    from plugins.notifications.account_emails import account_email

    account_email(org, "password_reset", email, customer_id=customer_id, name=name, link_token=link_token,
                  expires_at=expires_at)


@hookimpl
def customer_email_change(org, customer_id, email, name, current_email, link_token, expires_at):
    """Email the NEW address the link that confirms the change of e-mail."""
    from plugins.notifications.account_emails import account_email

    account_email(org, "email_change", email, customer_id=customer_id, name=name, link_token=link_token,
                  expires_at=expires_at, current_email=current_email)


@hookimpl
def customer_email_changed(org, customer_id, email, name, new_email):
    """Tell the OLD address that the account now uses `new_email`."""
    from plugins.notifications.account_emails import account_email

    account_email(org, "email_changed", email, customer_id=customer_id, name=name, new_email=new_email)


@hookimpl
def waitlist_changed(org, entry, offer, state, checkout_url):
    """Tell the customer their waiting-list entry changed: joined, offered (with the checkout link and the
    deadline), accepted, lapsed or left."""
    from plugins.notifications.waitlist_emails import waitlist_email

    waitlist_email(org, entry, offer, state, checkout_url)


@hookimpl
def resale_listing_changed(org, listing, change):
    """E-mail the seller when their resale listing is listed, withdrawn or sold."""
    from plugins.notifications import service  # noqa: F401 - declares the plugin's jobs

    service.resale_changed(org, listing, change)

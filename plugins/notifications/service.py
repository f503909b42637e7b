"""Notification emails: render from the tenant's templates, log each one, deliver by job with retries.

Knows nothing of Flask. A failing delivery is recorded and retried with backoff, never raised into a sale;
claim tokens and SMTP passwords are never logged, and a claim token is never stored in clear: the log row keeps
`SECRET_SLOT` in its bodies and the token sealed under the deployment key, put in at send time and then dropped.
"""

from __future__ import annotations

import html
import logging
from email.message import EmailMessage
from email.utils import formataddr, parseaddr
from pathlib import Path
from urllib.parse import urlencode, urlparse

from core import outbox
from core.config import current_config
from core.db import write_transaction
from core.errors import Conflict
from core.jobs import RetryPolicy, job
from core.models import Booking, Customer, Event, Org, Ticket, utcnow
from core.money import format_money
from core.pagination import Page, SortKey, paginate_cursor
from core.plugins import hooks_for, plugin_settings
from core.sealed import seal, unseal
from core.services import qr, rotating_qr, templates, ticket_emails
from core.services.member_invites import invite_url
from core.services.ticket_configurations import attaches_pdf, shown_name
from core.services.ticket_links import ticket_page_url
from core.services.ticket_pdf import local_time_text, pdf_link, render_ticket_pdf, ticket_pdf_filename, venue_lines
from core.tenancy import get_scoped, scoped
from core.timefmt import iso_utc
from plugins.notifications import transport
from plugins.notifications.models import Message
from plugins.notifications.render import Rendered, render_email

log = logging.getLogger(__name__)

PLUGIN = "notifications"
RETRY = RetryPolicy(max_attempts=5, delay_seconds=30, backoff=2)
MAX_ATTEMPTS = RETRY.max_attempts
retry_delay_after = RETRY.delay_after
LIVE = ("valid", "checked_in", "pending_activation")
WITH_TICKETS = ("tickets_issued", "ticket_received", "holder_changed")
EVENT_MESSAGE = "event_message"  # a staff-written e-mail about an event (bulk refund `send_email`)
SECRET_SLOT = "SECRET-SLOT-9f3c2a7e"  # stands for the sealed secret in a stored body (URL- and HTML-safe)
PDF_LINK_SLOT = "PDF-LINK-SLOT-"  # + a ticket id: stands for its download link in a stored body
PAGE_LINK_SLOT = "PAGE-LINK-SLOT-"  # + a ticket id: stands for its ticket page link (a rotating QR's live code)
SEALED = "sealed_secret"  # the context key of a message's sealed secret, present until it is sent
LIST_KEYS = (SortKey("created", Message.created_at, "datetime", descending=True, attr="created_at"),
             SortKey("id", Message.id, descending=True))



class DeliveryFailed(Exception):
    """One delivery attempt failed; the job queue retries it (with backoff) until MAX_ATTEMPTS."""




def outbox_folder(org_id: str) -> Path:
    """Where the embedded default writes a tenant's emails: `<data_dir>/outbox/<org>/`."""
    return current_config().data_path / "outbox" / org_id



# --- what an email says ---------------------------------------------------------------------------

LIVE_CODE_TEXT = "Open your ticket page at the door: its QR code changes every 15 seconds (a screenshot is refused)."


def qr_cid(ticket: Ticket) -> str:
    """The Content-ID (without angle brackets) of a ticket's inline QR image."""
    return f"qr-{ticket.id}@boxoffice"


def pdf_link_slot(ticket: Ticket) -> str:
    """What a stored body holds in place of a ticket's PDF download link; the link is made when it is sent
    (`build_mime`), so the send log keeps no link that opens the ticket."""
    return f"{PDF_LINK_SLOT}{ticket.id}"


def page_link_slot(ticket: Ticket) -> str:
    """What a stored body holds in place of a rotating QR ticket's page link (made when it is sent, like the
    PDF link: the page shows the live code)."""
    return f"{PAGE_LINK_SLOT}{ticket.id}"


def _ticket_context(ticket: Ticket) -> dict:
    holder = ticket.holder_name or ticket.holder_email
    linked = not attaches_pdf(ticket.ticket_type)
    rotating = rotating_qr.is_rotating(ticket)
    return {"id": ticket.id, "type": shown_name(ticket.ticket_type), "seats": ticket.seats, "holder": holder,
            "status": ticket.status, "qr_cid": qr_cid(ticket), "pdf": ticket_pdf_filename(ticket),
            "pdf_url": pdf_link_slot(ticket) if linked else None, "rotating": rotating,
            "page_url": page_link_slot(ticket) if rotating else None}


def _public_url(settings: dict) -> str:
    return str(settings.get("public_url") or current_config().public_url).rstrip("/")


def attendee_links(org: Org, event: Event, booking: Booking | None) -> dict[str, str]:
    """The attendee pages the tenant's plugins serve for the event (and booking): the `attendee_links` hook's
    answers merged ({} when none serves pages)."""
    links: dict[str, str] = {}
    for answer in hooks_for(org).attendee_links(org=org, event=event, booking=booking):
        links.update({str(name): str(url) for name, url in (answer or {}).items()})
    return links


def build_context(org: Org, event: Event, tickets: list[Ticket], *, recipient_name: str = "",
                  settings: dict | None = None, booking: Booking | None = None, **extra) -> dict:
    """The variables every template sees: org, event (name, local time, venue), tickets, recipient, and the
    attendee pages' `links` (`event_page`, `calendar`, the booking's `booking_page` and `order_page`,
    `account_page`, `claim_page`... when the tenant has such pages; a booking's pages only in a message to its
    buyer))."""
    settings = settings if settings is not None else plugin_settings(org, PLUGIN)
    context = {
        "org": {"id": org.id, "name": org.name},
        "event": {"id": event.id, "name": event.name, "when": local_time_text(event.starts_at, event.tz),
                  "where": ", ".join(venue_lines(event))},
        "tickets": [_ticket_context(t) for t in tickets],
        "recipient_name": recipient_name,
        "public_url": _public_url(settings),
        "links": attendee_links(org, event, booking),
    }
    context.update(extra)
    return context


def sender_for(org: Org, settings: dict) -> str:
    """The From header: the tenant's `sender` setting, else its name at the deployment's host."""
    configured = str(settings.get("sender") or "").strip()
    name, address = parseaddr(configured)
    if address and "@" in address:
        return formataddr((name or org.name, address))
    host = urlparse(current_config().public_url).hostname or "localhost"
    domain = host if "." in host else "boxoffice.localhost"
    return formataddr((org.name, f"no-reply@{domain}"))


# --- queueing ------------------------------------------------------------------------------------

def text_as_html(text: str) -> str:
    """Plain text as HTML paragraphs (blank lines part them), escaped, its line breaks kept."""
    paragraphs = [part.strip() for part in text.replace("\r\n", "\n").split("\n\n") if part.strip()]
    return "".join(f"<p>{html.escape(part).replace(chr(10), '<br>')}</p>" for part in paragraphs)


def from_tenant_template(org: Org, event: Event, tickets: list[Ticket], booking: Booking | None,
                         recipient_name: str, context: dict) -> Rendered | None:
    """The ticket e-mail rendered from the template the event's setting names (`ticket_email_template_id`), or
    None when it names none: its subject, its body as the text part, and the body as HTML (escaped, line
    breaks kept) followed by the tickets' inline QR codes. PDF links stay slots until the e-mail is sent."""
    template = ticket_emails.email_template_of(org, event)
    if template is None:
        return None
    values = ticket_emails.ticket_email_values(org, event, tickets, booking=booking, recipient_name=recipient_name,
                                               link_for=pdf_link_slot)
    rendered = templates.render_email(template, values)
    codes = "".join(f'<p><a href="{t["page_url"]}">{html.escape(LIVE_CODE_TEXT)}</a></p>' if t["rotating"] else
                    f'<p><img src="cid:{t["qr_cid"]}" alt="QR code of ticket {html.escape(t["id"])}" width="200" '
                    f'height="200"></p>' for t in context["tickets"])
    return Rendered(rendered.subject, rendered.body,
                    f"<!doctype html><html><body>{text_as_html(rendered.body)}{codes}</body></html>")


def queue_email(org: Org, kind: str, recipient: str, tickets: list[Ticket], *, recipient_name: str = "",
                secret: str | None = None, booking: Booking | None = None, **extra) -> Message | None:
    """Render `kind` for `recipient`, log it as queued and hand it to the job queue; None without recipient.

    The ticket delivery e-mail (`tickets_issued`) uses the tenant's template when the event's setting names
    one (`from_tenant_template`), else the plugin's templates. A `secret` (a claim token) is rendered as
    `SECRET_SLOT` and kept sealed until the e-mail is sent.
    """
    recipient = (recipient or "").strip()
    if not recipient or "@" not in recipient or not tickets:
        return None
    settings = plugin_settings(org, PLUGIN)
    event = get_scoped(Event, org, tickets[0].event_id)
    context = build_context(org, event, tickets, recipient_name=recipient_name, settings=settings, booking=booking,
                            **extra)
    rendered = None
    if kind == "tickets_issued":
        rendered = from_tenant_template(org, event, tickets, booking, recipient_name, context)
    rendered = rendered or render_email(kind, settings, context)
    return log_and_enqueue(org, kind, recipient, rendered.subject, rendered.text, rendered.html,
                            {"ticket_ids": [t.id for t in tickets], "event_id": event.id,
                             **({SEALED: seal(secret)} if secret else {})})


def log_and_enqueue(org: Org, kind: str, recipient: str, subject: str, text: str, html_body: str,
                     context: dict) -> Message:
    """Log a rendered message as queued and record its delivery job, in one write transaction."""
    with write_transaction():
        message = Message.create(org=org.id, kind=kind, recipient=recipient, subject=subject, body_text=text,
                                 body_html=html_body, context=context)
        _enqueue(message)
    return message


def event_message(org: Org, event: Event, recipient: str, name: str, subject: str, body: str) -> Message | None:
    """A staff-written e-mail (the bulk refund's `email_template`) to one buyer, as plain text exactly as
    written (no template is rendered from it) and as HTML with the text escaped; None without a recipient."""
    recipient = (recipient or "").strip()
    if not recipient or "@" not in recipient:
        return None
    return log_and_enqueue(org, EVENT_MESSAGE, recipient, " ".join(subject.split())[:300], body, text_as_html(body),
                            {"event_id": event.id, "recipient_name": name})


def _enqueue(message: Message) -> None:
    """Record the message's delivery in the outbox (with the transaction that logs it, when one is open)."""
    outbox.enqueue(send_message, message.org_id, message.id)


def tickets_issued(org: Org, booking, tickets: list[Ticket]) -> list[Message]:
    """One email per recipient (the buyer, or each holder of comp tickets) with QR images and PDFs."""
    by_recipient: dict[str, list[Ticket]] = {}
    names: dict[str, str] = {}
    for ticket in tickets:
        address = (booking.email if booking is not None and booking.email else ticket.holder_email) or ""
        by_recipient.setdefault(address.lower(), []).append(ticket)
        names.setdefault(address.lower(), (booking.name if booking else "") or ticket.holder_name)
    queued = [queue_email(org, "tickets_issued", address, group, recipient_name=names[address], booking=booking)
              for address, group in by_recipient.items()]
    return [m for m in queued if m is not None]


def claim_url(org: Org, event: Event, settings: dict, token: str) -> str:
    """The link a transfer recipient follows: the claim page the tenant's plugins serve (`attendee_links`'
    `claim_page`) with `?token=`, else `<public_url>/claim?token=...` (the tenant's own site)."""
    page = attendee_links(org, event, None).get("claim_page") or f"{_public_url(settings)}/claim"
    return f"{page}?{urlencode({'token': token})}"


def transfer_claim(org: Org, old_ticket: Ticket, new_ticket: Ticket, transfer, claim_token: str) -> Message | None:
    """Tell the recipient a ticket waits for them, with the claim link and the API call."""
    settings = plugin_settings(org, PLUGIN)
    event = get_scoped(Event, org, new_ticket.event_id, "event")
    return queue_email(org, "transfer_claim", transfer.to_email, [new_ticket], recipient_name=transfer.to_name,
                       from_name=old_ticket.holder_name or transfer.from_email, secret=claim_token,
                       claim_token=SECRET_SLOT, claim_url=claim_url(org, event, settings, SECRET_SLOT),
                       claim_api="POST /client/events/tickets/claim")


def member_invite(org: Org, invite, invite_token: str) -> Message:
    """Send an invitee the link to join the organisation's staff (the token sealed until the e-mail is sent)."""
    settings = plugin_settings(org, PLUGIN)
    context = {"org": {"id": org.id, "name": org.name}, "role": invite.role, "expires_at": iso_utc(invite.expires_at),
               "invite_url": invite_url(org.id, SECRET_SLOT), "invite_token": SECRET_SLOT,
               "accept_api": "POST /org/members/invites/accept", "public_url": _public_url(settings)}
    rendered = render_email("member_invite", settings, context)
    return log_and_enqueue(org, "member_invite", invite.email, rendered.subject, rendered.text, rendered.html,
                            {"invite_id": invite.id, SEALED: seal(invite_token)})


def ticket_received(org: Org, ticket: Ticket, transfer) -> Message | None:
    """After a claim: the new holder gets the ticket itself (QR and PDF)."""
    return queue_email(org, "ticket_received", ticket.holder_email or transfer.to_email, [ticket],
                       recipient_name=ticket.holder_name, from_name=transfer.from_email)


def transfer_sent(org: Org, old_ticket: Ticket, new_ticket: Ticket, transfer) -> Message | None:
    """After a transfer straight into another account: the sender is told who has the ticket now (their old
    ticket is void, so no QR is attached)."""
    recipient = Customer.select(Customer.username).where((Customer.id == transfer.claimed_by_id)
                                                         & (Customer.org == transfer.org_id)).first()
    return queue_email(org, "transfer_sent", old_ticket.holder_email or transfer.from_email, [old_ticket],
                       recipient_name=old_ticket.holder_name, to_name=transfer.to_name,
                       to_username=recipient.username if recipient else None)


def holder_changed(org: Org, ticket: Ticket, edit) -> Message | None:
    """After a holder edit that changed the e-mail: the new holder gets the ticket (QR and PDF); a change of
    the name only sends nothing (the holder already has the ticket)."""
    if (edit.previous_email or "").lower() == (ticket.holder_email or "").lower():
        return None
    return queue_email(org, "holder_changed", ticket.holder_email, [ticket], recipient_name=ticket.holder_name,
                       from_name=edit.previous_name or edit.previous_email)


def ticket_refunded(org: Org, ticket: Ticket, refund) -> Message | None:
    """Tell the holder their ticket was refunded (and how much came back for it, when known)."""
    amount = None
    if refund is not None and getattr(refund, "amount", None) is not None:
        amount = format_money(refund.amount, refund.currency)
    return queue_email(org, "ticket_refunded", ticket.holder_email, [ticket], recipient_name=ticket.holder_name,
                       refund={"amount": amount} if amount else None)


RESALE_REASONS = {"holder": "you withdrew it", "checked_in": "the ticket was scanned at the door",
                  "refunded": "the ticket was refunded", "cancelled": "the ticket was cancelled",
                  "transferred": "the ticket was transferred", "staff": "the organiser withdrew it"}


def resale_changed(org: Org, listing, change: str) -> Message | None:
    """Tell the seller their resale listing was listed, withdrawn (and why) or sold (with what comes back to
    them: the buyer gets their ticket through `tickets_issued`)."""
    seller = Customer.select(Customer.email, Customer.name).where((Customer.id == listing.seller_id)
                                                                  & (Customer.org == listing.org_id)).first()
    ticket = Ticket.select().where((Ticket.id == listing.ticket_id) & (Ticket.org == listing.org_id)).first()
    if seller is None or ticket is None:
        return None
    return queue_email(org, f"resale_{change}", seller.email, [ticket], recipient_name=seller.name, listing={
        "price": format_money(listing.price, listing.currency), "fee": format_money(listing.fee, listing.currency),
        "back": format_money(listing.seller_amount, listing.currency) if listing.seller_amount else None,
        "reason": RESALE_REASONS.get(listing.ended_reason or "", listing.ended_reason)})


def ticket_cancelled(org: Org, ticket: Ticket) -> Message | None:
    """Tell the holder their ticket was cancelled."""
    return queue_email(org, "ticket_cancelled", ticket.holder_email, [ticket], recipient_name=ticket.holder_name)


# --- delivery ------------------------------------------------------------------------------------

def message_id_header(message: Message) -> str:
    """The e-mail's Message-ID, the same on every attempt to send one log entry (a receiver drops repeats)."""
    return f"<{message.id.replace('-', '')}@boxoffice>"


def build_mime(org: Org, message: Message, settings: dict) -> EmailMessage:
    """The MIME message: text + HTML, inline QR PNGs (CID) and one PDF per live ticket for ticket emails (a
    download link in the bodies instead, for a ticket whose configuration is not `attachable`)."""
    mime = EmailMessage()
    mime["Subject"] = message.subject
    mime["From"] = sender_for(org, settings)
    mime["To"] = message.recipient
    mime["Message-ID"] = message_id_header(message)
    mime["X-Boxoffice-Kind"] = message.kind
    text, html = _with_secret(message)
    ids = list((message.context or {}).get("ticket_ids") or [])
    tickets = []
    if message.kind in WITH_TICKETS:
        tickets = [t for t in scoped(Ticket, org).where(Ticket.id.in_(ids)) if t.status in LIVE]
        tickets.sort(key=lambda t: ids.index(t.id))
        for ticket in tickets:   # a ticket whose type is not `attachable` is linked to, not attached
            for slot, link in ((pdf_link_slot(ticket), pdf_link(org, ticket)),
                               (page_link_slot(ticket), ticket_page_url(org.id, ticket.id))):
                text, html = text.replace(slot, link), html.replace(slot, link)
    mime.set_content(text)
    mime.add_alternative(html, subtype="html")
    if message.kind not in WITH_TICKETS:
        return mime
    html_part = mime.get_payload()[1]
    for ticket in tickets:   # a rotating QR ticket has no fixed code to show: its page link is in the body
        if not rotating_qr.is_rotating(ticket):
            html_part.add_related(qr.png_for(org, ticket), "image", "png", cid=f"<{qr_cid(ticket)}>",
                                  filename=f"qr-{ticket.id}.png")
    for ticket in tickets:
        if attaches_pdf(ticket.ticket_type):
            mime.add_attachment(render_ticket_pdf(org, ticket), "application", "pdf",
                                filename=ticket_pdf_filename(ticket))
    return mime


def _with_secret(message: Message) -> tuple[str, str]:
    """The text and HTML bodies with the sealed secret put back in place of `SECRET_SLOT`."""
    sealed = (message.context or {}).get(SEALED)
    if not sealed:
        return message.body_text, message.body_html
    secret = unseal(sealed)
    if secret is None:
        raise DeliveryFailed("the sealed claim token does not open under this deployment's secret key")
    return message.body_text.replace(SECRET_SLOT, secret), message.body_html.replace(SECRET_SLOT, secret)


def _without_secret(message: Message) -> dict:
    return {k: v for k, v in (message.context or {}).items() if k != SEALED}


def _send(org: Org, message: Message, settings: dict) -> tuple[str, str | None]:
    mime = build_mime(org, message, settings)
    server = transport.smtp_from_settings(settings) or transport.smtp_from_url(current_config().smtp_url)
    if server is not None:
        transport.send_smtp(server, mime)
        return "smtp", None
    stamp = utcnow().strftime("%Y%m%dT%H%M%S")
    path = transport.write_outbox(outbox_folder(org.id), f"{stamp}-{message.kind}-{message.id}", mime)
    return "outbox", str(path)


def deliver(org_id: str, message_id: str) -> Message:
    """One delivery attempt: send (SMTP or outbox) and log the result; raise DeliveryFailed to be retried.

    A message already sent is left alone; after MAX_ATTEMPTS failures it is marked `failed` (resend it).
    """
    message = Message.get_or_none((Message.id == message_id) & (Message.org == org_id))
    if message is None or message.status == "sent":
        return message
    Message.update(attempts=Message.attempts + 1, updated_at=utcnow()).where(message.row_condition()).execute()
    attempts = message.attempts + 1
    org = Org.get_by_id(org_id)
    try:
        used, path = _send(org, message, plugin_settings(org, PLUGIN))
    except Exception as exc:  # noqa: BLE001 - any transport failure is logged and retried
        error = f"{type(exc).__name__}: {exc}"[:1000]
        final = attempts >= MAX_ATTEMPTS
        Message.update(status="failed" if final else "queued", last_error=error, updated_at=utcnow()).where(
            message.row_condition()).execute()
        log.warning("notification %s attempt %d failed: %s", message.id, attempts, type(exc).__name__)
        if final:
            return message.reread()
        raise DeliveryFailed(f"attempt {attempts} failed; retrying in {retry_delay_after(attempts)} s") from exc
    Message.update(status="sent", transport=used, outbox_file=path, sent_at=utcnow(), last_error=None,
                   context=_without_secret(message), updated_at=utcnow()).where(message.row_condition()).execute()
    return message.reread()


@job(policy=RETRY)
def send_message(org_id: str, message_id: str) -> None:
    """Job: deliver one logged message (retried with exponential backoff by the queue)."""
    deliver(org_id, message_id)


# --- staff ---------------------------------------------------------------------------------------

def list_messages(org: Org, *, size: int, cursor: str | None = None, kind: str | None = None,
                  status: str | None = None) -> Page:
    """A page of the tenant's send log, newest first."""
    query = scoped(Message, org)
    if kind:
        query = query.where(Message.kind == kind)
    if status:
        query = query.where(Message.status == status)
    return paginate_cursor(query, LIST_KEYS, size, cursor)


def resend(org: Org, message_id: str) -> Message:
    """Send a logged message again, as a new log entry (404 `message_not_found` for others' messages).

    A claim e-mail (or an account e-mail with a link) that was sent no longer holds its token: 409
    `claim_link_not_kept` (send a new claim link; the customer asks for a new account link). One that was never
    sent hands its sealed token over to the new entry.
    """
    original = get_scoped(Message, org, message_id, "message")
    context = original.context or {}
    if SECRET_SLOT in original.body_text and SEALED not in context:
        how = ("the customer asks for a new link" if "customer_id" in context
               else "send a new claim link (POST /events/tickets/{ticketId}/claim-link) instead")
        raise Conflict(f"This e-mail was sent and its one-time link is not kept; {how}.", type="claim_link_not_kept")
    with write_transaction():
        copy = Message.create(org=org.id, kind=original.kind, recipient=original.recipient,
                              subject=original.subject, body_text=original.body_text,
                              body_html=original.body_html, context=original.context, resent_from=original.id)
        Message.update(context=_without_secret(original)).where(original.row_condition()).execute()
        _enqueue(copy)
    return copy.reread()


def message_view(message: Message) -> dict:
    """A log entry as the staff API shows it (never the body)."""
    iso = iso_utc
    return {"id": message.id, "kind": message.kind, "to": message.recipient, "subject": message.subject,
            "status": message.status, "attempts": message.attempts, "lastError": message.last_error,
            "transport": message.transport, "ticketIds": (message.context or {}).get("ticket_ids", []),
            "resentFrom": message.resent_from, "createdAt": iso(message.created_at), "sentAt": iso(message.sent_at)}

"""Account e-mails to customers: the verification, password reset and change-of-e-mail links, and the notice
to the old address once the e-mail changed.

Renders from the plugin's templates (or the tenant's overrides) and logs each e-mail like the ticket ones; the
link's token is never stored in clear: the log row keeps `SECRET_SLOT` in its bodies and the token sealed until
the e-mail is sent. Links are made by the core (`account_page_link`), never here.
"""

from __future__ import annotations

import datetime as dt

from core.models import Org
from core.plugins import plugin_settings
from core.sealed import seal
from core.services.event_lists import account_page_link
from core.services.ticket_pdf import local_time_text
from plugins.notifications.models import Message
from plugins.notifications.render import render_email
from plugins.notifications.service import PLUGIN, SEALED, SECRET_SLOT, log_and_enqueue

LINK_PAGES = {"email_verification": "verify", "password_reset": "reset", "email_change": "email"}
"""The account e-mails that carry a link, and the attendee page each link opens."""
ACCOUNT_KINDS = (*LINK_PAGES, "email_changed")


def account_email(org: Org, kind: str, recipient: str, *, customer_id: str, name: str = "",
                  link_token: str | None = None, expires_at: dt.datetime | None = None, **extra) -> Message | None:
    """Render the account e-mail `kind` for `recipient` (with the link to its page, when `kind` has one), log it
    as queued and record its delivery; None without a usable recipient."""
    recipient = (recipient or "").strip()
    if not recipient or "@" not in recipient:
        return None
    settings = plugin_settings(org, PLUGIN)
    context = {"org": {"id": org.id, "name": org.name}, "recipient_name": name, "email": recipient, **extra}
    stored = {"customer_id": customer_id}
    if kind in LINK_PAGES:
        context.update(link=account_page_link(org.id, LINK_PAGES[kind], SECRET_SLOT), token=SECRET_SLOT,
                       expires=local_time_text(expires_at, org.timezone))
        stored[SEALED] = seal(link_token or "")
    rendered = render_email(kind, settings, context)
    return log_and_enqueue(org, kind, recipient, rendered.subject, rendered.text, rendered.html, stored)

"""Email templates: the package's default files, overridable per tenant, rendered in a Jinja2 sandbox.

A tenant's override lives in its plugin settings (`template.<kind>.subject|text|html`); a broken override
falls back to the default, so a typo in a template never stops a ticket email. Never renders secrets other
than what the email is meant to carry (a claim link for its recipient).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from jinja2 import FileSystemLoader, TemplateError
from jinja2.sandbox import SandboxedEnvironment

log = logging.getLogger(__name__)

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
KINDS = ("tickets_issued", "transfer_claim", "ticket_received", "ticket_refunded", "ticket_cancelled",
         "holder_changed", "transfer_sent", "member_invite", "email_verification", "password_reset", "email_change",
         "email_changed", "waitlist", "resale_listed", "resale_withdrawn",
         "resale_sold")
PARTS = {"subject": "subject.txt", "text": "txt", "html": "html"}

# The loader serves the shipped partials (`_tickets.html`, `_tickets.txt`) to defaults and overrides alike.
_text_env = SandboxedEnvironment(loader=FileSystemLoader(TEMPLATE_DIR), autoescape=False, keep_trailing_newline=True)
_html_env = SandboxedEnvironment(loader=FileSystemLoader(TEMPLATE_DIR), autoescape=True, keep_trailing_newline=True)


@dataclass
class Rendered:
    """A rendered email: one-line subject, plain-text body and HTML body."""

    subject: str
    text: str
    html: str


def default_template(kind: str, part: str) -> str:
    """The shipped template source for one part ('subject', 'text' or 'html') of an email kind."""
    return (TEMPLATE_DIR / f"{kind}.{PARTS[part]}").read_text(encoding="utf-8")


def setting_key(kind: str, part: str) -> str:
    """The tenant setting that overrides a template part, e.g. `template.tickets_issued.subject`."""
    return f"template.{kind}.{part}"


def _render_part(kind: str, part: str, settings: dict, context: dict) -> str:
    env = _html_env if part == "html" else _text_env
    override = settings.get(setting_key(kind, part))
    if override:
        try:
            return env.from_string(str(override)).render(**context)
        except TemplateError as exc:
            log.warning("tenant template %s is broken (%s); using the default", setting_key(kind, part),
                        type(exc).__name__)
    return env.from_string(default_template(kind, part)).render(**context)


def render_email(kind: str, settings: dict, context: dict) -> Rendered:
    """Render subject, text and HTML of `kind` with the tenant's overrides (from `settings`) or defaults."""
    if kind not in KINDS:
        raise ValueError(f"unknown email kind {kind!r}")
    subject = " ".join(_render_part(kind, "subject", settings, context).split())[:300]
    return Rendered(subject, _render_part(kind, "text", settings, context),
                    _render_part(kind, "html", settings, context))

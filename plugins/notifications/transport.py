"""How a notification leaves: SMTP (the tenant's server, else BOXOFFICE_SMTP_URL) or an .eml outbox folder.

Knows nothing of tenants' data or Flask; never logs a password or a message body.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

SMTP_TIMEOUT_SECONDS = 20
_TRUE = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to reach an SMTP server (`tls` = implicit TLS, `starttls` = upgrade after connect)."""

    host: str
    port: int = 25
    user: str = ""
    password: str = ""
    starttls: bool = False
    tls: bool = False

    def __repr__(self) -> str:  # never show the password
        return f"SmtpSettings(host={self.host!r}, port={self.port}, user={self.user!r}, starttls={self.starttls})"


def smtp_from_settings(settings: dict) -> SmtpSettings | None:
    """The tenant's own SMTP server from its plugin settings (`smtp_host`, `smtp_port`, ...), if set."""
    host = str(settings.get("smtp_host") or "").strip()
    if not host:
        return None
    return SmtpSettings(host=host, port=int(settings.get("smtp_port") or 25),
                        user=str(settings.get("smtp_user") or ""), password=str(settings.get("smtp_password") or ""),
                        starttls=str(settings.get("smtp_starttls") or "").lower() in _TRUE,
                        tls=str(settings.get("smtp_tls") or "").lower() in _TRUE)


def smtp_from_url(url: str) -> SmtpSettings | None:
    """The deployment's SMTP server from `smtp://user:pass@host:port?starttls=1` or `smtps://...`."""
    if not url:
        return None
    parsed = urlparse(url)
    if parsed.scheme not in ("smtp", "smtps") or not parsed.hostname:
        raise ValueError("BOXOFFICE_SMTP_URL must look like smtp://user:password@host:587?starttls=1")
    query = parse_qs(parsed.query)
    tls = parsed.scheme == "smtps"
    return SmtpSettings(host=parsed.hostname, port=parsed.port or (465 if tls else 25),
                        user=unquote(parsed.username or ""), password=unquote(parsed.password or ""),
                        starttls=(query.get("starttls", [""])[0].lower() in _TRUE), tls=tls)


def send_smtp(server: SmtpSettings, message: EmailMessage) -> None:
    """Deliver one message through `server`; raises smtplib/OSError errors for the caller to retry."""
    if server.tls:
        client = smtplib.SMTP_SSL(server.host, server.port, timeout=SMTP_TIMEOUT_SECONDS,
                                  context=ssl.create_default_context())
    else:
        client = smtplib.SMTP(server.host, server.port, timeout=SMTP_TIMEOUT_SECONDS)
    with client:
        if server.starttls:
            client.starttls(context=ssl.create_default_context())
        if server.user:
            client.login(server.user, server.password)
        client.send_message(message)


def write_outbox(folder: Path, name: str, message: EmailMessage) -> Path:
    """Write `message` as `<folder>/<name>.eml` (atomically, via a temporary file); returns the path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.eml"
    partial = folder / f".{name}.eml.part"
    partial.write_bytes(message.as_bytes())
    partial.replace(path)
    return path

"""`boxoffice outbox`: the notification log as a table (time, org, kind, to, subject, status, file).

Read-only; it never sends, and never prints email bodies (they may hold claim links).
"""

from __future__ import annotations

from pathlib import Path

import click


def _ensure_database() -> None:
    """Use the app this process already built (tests, embedding), else build one from the environment."""
    from core import db as database

    if database.db.obj is None:
        from core.app import create_app

        create_app()


def _cell(value: object, width: int) -> str:
    text = " ".join(str(value if value is not None else "").split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _relative(path: str, root) -> str:
    try:
        return str(Path(path).relative_to(root))
    except ValueError:
        return path


@click.command("outbox")
@click.option("--org", "org_id", default=None, help="Only this tenant's emails.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10000))
@click.option("--status", type=click.Choice(["queued", "sent", "failed"]), default=None)
def outbox_command(org_id: str | None, limit: int, status: str | None) -> None:
    """List notification emails, newest first; outbox (.eml) files are under <data_dir>/outbox/<org>/."""
    from core import db as database
    from core.config import current_config
    from plugins.notifications.models import Message

    _ensure_database()
    with database.db.connection_context():
        query = Message.select().order_by(Message.created_at.desc(), Message.id.desc()).limit(limit)
        if org_id:
            query = query.where(Message.org == org_id)
        if status:
            query = query.where(Message.status == status)
        rows = list(query)
    root = current_config().data_path / "outbox"
    click.echo(f"outbox folder: {root}")
    columns = (("time", 19), ("org", 24), ("kind", 16), ("to", 30), ("subject", 44), ("status", 7), ("file", 200))
    click.echo("  ".join(name.ljust(width) for name, width in columns).rstrip())
    for m in rows:
        values = (m.created_at.strftime("%Y-%m-%d %H:%M:%S"), m.org_id, m.kind, m.recipient, m.subject, m.status,
                  _relative(m.outbox_file, root) if m.outbox_file else (m.transport or ""))
        click.echo("  ".join(_cell(v, w).ljust(w) for v, (_, w) in zip(values, columns, strict=True)).rstrip())
    if not rows:
        click.echo("(no emails yet)")

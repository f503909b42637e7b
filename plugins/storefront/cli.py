"""`boxoffice storefront backfill ORG`: mirror a tenant's existing ticket types, with a progress bar.

Runs the same backfill as the job behind POST /storefront/backfill; never enables the plugin by itself.
"""

from __future__ import annotations

import click


@click.group("storefront")
def storefront_group() -> None:
    """Storefront plugin commands."""


@storefront_group.command("backfill")
@click.argument("org_id")
def backfill_command(org_id: str) -> None:
    """Create or update the product variant of every ticket type of ORG."""
    from core import db as database
    from core.models import Org, TicketType
    from core.tenancy import scoped
    from plugins.storefront.catalog import backfill

    if database.db.obj is None:
        from core.app import create_app

        create_app()
    with database.db.connection_context():
        if Org.get_or_none(Org.id == org_id) is None:
            raise click.ClickException(f"No organisation with id {org_id!r}.")
        total = scoped(TicketType, org_id).count()
        with click.progressbar(length=total, label="Mirroring ticket types") as bar:
            seen = [0]

            def progress(done: int, _total: int) -> None:
                bar.update(done - seen[0])
                seen[0] = done

            done = backfill(org_id, progress)
    click.echo(f"{done} ticket type(s) mirrored for {org_id}.")

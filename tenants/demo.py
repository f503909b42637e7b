"""The demo tenant seeded by `boxoffice run`: an org, a customer login, and sample events on first run, with the
plugins a visitor needs to see a ticket sale work end to end without any provider key (`DEMO_PLUGINS`).

Its credentials are generated on first run and kept in the data folder (never in the repository).
"""

from __future__ import annotations

import json
import os
import secrets

import click

from core.auth import issue_token
from core.db import write_transaction
from core.models import Event, Org
from core.services.accounts import register_customer
from core.services.event_lists import pages_root
from core.services.event_pages import event_page_url
from core.tenancy import scoped
from tenants import service

DEMO_ORG_ID = "demo"
DEMO_CUSTOMER_EMAIL = "fan@example.com"
DEMO_EVENT = "Jazz Night"  # the sample event whose page `boxoffice run` prints
DEMO_PLUGINS = ("offline", "pages", "notifications")
"""What the demo tenant gets enabled, whatever `BOXOFFICE_DEFAULT_PLUGINS` gives every other new tenant: the
attendee pages sell its events, buyers take a free ticket or pay offline (staff mark it paid), and the e-mails
go out through `BOXOFFICE_SMTP_URL`, or without one are written as `.eml` files to the data folder's outbox. No
provider key is needed."""


def _credentials_path(app):
    return app.config["BOXOFFICE"].data_path / "demo.json"


def ensure_demo_tenant(app) -> dict:
    """Create the demo tenant (and its sample catalog) once; return what to print."""
    path = _credentials_path(app)
    config = app.config["BOXOFFICE"]
    org = Org.get_or_none(Org.id == DEMO_ORG_ID)
    if org is None or not path.exists():
        if org is None:
            created = service.create_tenant("Demo Org", org_id=DEMO_ORG_ID, default_plugins=DEMO_PLUGINS)
            org = created.org
        password = secrets.token_urlsafe(9)
        with write_transaction():
            from core.models import Customer

            Customer.delete().where((Customer.org == org) & (Customer.email == DEMO_CUSTOMER_EMAIL)).execute()
        register_customer(org, email=DEMO_CUSTOMER_EMAIL, password=password, name="Demo Fan")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump({"customer_password": password}, handle)
        seed_catalog(org)
    stored = json.loads(path.read_text())
    staff_token = issue_token(config.secret_key, sub="demo-staff", org=org.id, role="admin",
                              email="staff@demo.local", ttl_seconds=config.jwt_ttl_seconds)
    return {"orgid": org.id, "staff_token": staff_token, "customer_email": DEMO_CUSTOMER_EMAIL,
            "customer_password": stored["customer_password"], **demo_pages(org)}


def demo_pages(org: Org) -> dict:
    """Where the demo's attendee pages are (`pages`: the index, `event_page`: the sample event's page), or an
    empty dict when the tenant has the pages plugin off (a demo tenant made before it was one of its plugins, or
    switched off since: `boxoffice tenants enable demo pages` turns it on)."""
    if "pages" not in service.enabled_plugins(org):
        return {}
    event = (scoped(Event, org, Event.slug).where(Event.name == DEMO_EVENT)
             .order_by(Event.created_at, Event.id).first())
    pages = {"pages": pages_root(org.id) + "/"}
    return {**pages, "event_page": event_page_url(org.id, event.slug)} if event else pages


def seed_catalog(org: Org) -> None:
    """Sample venue, events and ticket types for the demo tenant: a published date event with a free and a
    paid ticket type, a parent event with two sessions, and a weekly recurring event."""
    import datetime as dt

    from core.models import utcnow
    from core.services.events import create_event
    from core.services.venues import create_venue

    venue = create_venue(org, {"name": "Demo Hall", "city": "Paris", "country": "FR", "tz": "Europe/Paris"})
    day = (utcnow() + dt.timedelta(days=14)).replace(hour=18, minute=0, second=0, microsecond=0)
    hours = dt.timedelta(hours=1)
    now = utcnow()
    create_event(org, {"name": "Jazz Night", "venue_id": venue.id, "starts_at": day, "ends_at": day + 3 * hours,
                       "capacity": 200, "published_at": now, "registration_types": [
                           {"name": "Community (free)", "price": 0, "inventory": 50},
                           {"name": "General admission", "price": 25, "inventory": 150}]})
    create_event(org, {"type": "parent", "name": "Tasting Tour", "venue_id": venue.id, "sessions": [
        {"name": "Session A", "starts_at": day + 24 * hours, "ends_at": day + 26 * hours, "published_at": now,
         "registration_types": [{"name": "GA", "price": 50, "inventory": 40}]},
        {"name": "Session B", "starts_at": day + 27 * hours, "ends_at": day + 29 * hours, "published_at": now,
         "registration_types": [{"name": "GA", "price": 50, "inventory": 40}]}]})
    create_event(org, {"type": "recurring", "name": "Weekly Open Mic", "venue_id": venue.id, "starts_at": day,
                       "ends_at": day + 2 * hours, "published_at": now,
                       "registration_types": [{"name": "Entry", "price": 5, "inventory": 60}],
                       "recurrences": [{"starts_at": day, "ends": "after_occurrences", "max_occurrences": 12,
                                        "repeat_unit": "week", "days": ["thursday"]}]})


def print_demo(info: dict, base_url: str) -> None:
    """Print the demo tenant's orgid, a staff token, the customer login and three curl lines to try."""
    org = info["orgid"]
    click.echo("")
    click.echo("Boxoffice demo tenant")
    click.echo(f"  orgid:           {org}")
    click.echo(f"  staff token:     {info['staff_token']}")
    click.echo(f"  customer login:  {info['customer_email']} / {info['customer_password']}")
    if info.get("pages"):
        click.echo(f"  attendee pages:  {info['pages']}")
    if info.get("event_page"):
        click.echo(f"  event page:      {info['event_page']}  (buy a ticket: free, or pay offline)")
    click.echo("")
    click.echo("Try:")
    click.echo(f"  curl -H 'orgid: {org}' {base_url}/client/events")
    click.echo(f"  curl -H 'orgid: {org}' -H 'Authorization: Bearer {info['staff_token']}' {base_url}/events")
    click.echo(f"  curl -H 'orgid: {org}' -H 'Content-Type: application/json' -d "
               f"'{{\"email\":\"{info['customer_email']}\",\"password\":\"{info['customer_password']}\"}}' "
               f"{base_url}/client/auth/login")
    click.echo(f"  (API docs: {base_url}/docs)")
    click.echo("")

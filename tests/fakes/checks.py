"""Shared test plumbing for gateway tests: the fake-provider fixtures and what tests read back afterwards.

Test-only; reads the database directly and never changes application state.
"""

from __future__ import annotations

import pytest

from core import db as database
from core.models import Booking, Ticket
from fakes.base import FakeProvider, running


def fake_fixtures(factory: type[FakeProvider]):
    """Two pytest fixtures: `fake_server` (one started fake per module) and `fake` (reset around each test)."""

    @pytest.fixture(scope="module", name="fake_server")
    def fake_server():
        with running(factory()) as server:
            yield server

    @pytest.fixture(name="fake")
    def fake(fake_server):
        fake_server.reset()
        yield fake_server
        fake_server.reset()

    return fake_server, fake


def enable_gateway(tenant, plugin: str, settings: dict, overrides: dict) -> dict:
    """Enable `plugin` for the tenant with `settings` (updated by `overrides`); returns what was set."""
    settings = dict(settings, **overrides)
    tenant.enable(plugin)
    tenant.configure(plugin, **settings)
    return settings


def booking_row(booking_id: str) -> Booking:
    """The booking as stored now."""
    with database.db.connection_context():
        return Booking.get_by_id(booking_id)


def ticket_ids(booking_id: str) -> list[str]:
    """Ids of every ticket issued for the booking, sorted."""
    with database.db.connection_context():
        return sorted(t.id for t in Ticket.select().where(Ticket.booking == booking_id))

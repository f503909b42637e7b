"""The gauges `/metrics` computes when it is scraped (a custom Prometheus collector): holds active, seats held,
outbox entries waiting and the age of the oldest, and the job queue's depth.

Runs its few deployment-wide queries once per scrape, never per request; a source that cannot answer (the
database or the queue down) is reported as `boxoffice_scrape_source_up{source} 0`, never as a failed scrape.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

from peewee import fn
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from core.jobs import get_huey
from core.models import Booking, OutboxEntry, TicketType, utcnow

log = logging.getLogger(__name__)


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


def database_gauges() -> list[GaugeMetricFamily]:
    """Holds active (pending bookings whose hold has not run out), seats held, and the outbox: entries not
    done and the age in seconds of the oldest of them (0 when none waits)."""
    now = utcnow()
    holds = Booking.select().where((Booking.status == "pending") & (Booking.expires_at > now)).count()
    seats = TicketType.select(fn.COALESCE(fn.SUM(TicketType.held), 0)).scalar() or 0
    waiting, oldest = (OutboxEntry.select(fn.COUNT(OutboxEntry.id), fn.MIN(OutboxEntry.created_at))
                       .where(OutboxEntry.done_at.is_null()).tuples().get())
    lag = max((now - oldest).total_seconds(), 0.0) if oldest is not None else 0.0
    return [
        _gauge("boxoffice_holds_active", "Pending bookings holding seats whose hold has not run out.", holds),
        _gauge("boxoffice_seats_held", "Seats held by pending bookings (the ticket types' `held` counters).", seats),
        _gauge("boxoffice_outbox_pending", "Outbox entries (side effects of committed changes) not done yet.",
               waiting),
        _gauge("boxoffice_outbox_lag_seconds", "Age of the oldest outbox entry not done yet (0 when none waits).",
               lag),
    ]


def queue_gauges() -> list[GaugeMetricFamily]:
    """The job queue: jobs waiting for a worker, and jobs scheduled for later (retries, delayed work)."""
    huey = get_huey()
    return [_gauge("boxoffice_job_queue_depth", "Jobs in the queue waiting for a worker.", huey.pending_count()),
            _gauge("boxoffice_jobs_scheduled", "Jobs scheduled to run later (retries with backoff, delays).",
                   huey.scheduled_count())]


SOURCES: dict[str, Callable[[], list[GaugeMetricFamily]]] = {"database": database_gauges, "queue": queue_gauges}


class ScrapeGauges(Collector):
    """The collector `/metrics` registers for one scrape: every source's gauges, and whether it answered."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """Each source's gauges; a failing source is logged and reported 0 in `boxoffice_scrape_source_up`."""
        up = GaugeMetricFamily("boxoffice_scrape_source_up", "1 when the source answered this scrape, else 0.",
                               labels=["source"])
        for source, gauges in SOURCES.items():
            try:
                yield from gauges()
            except Exception as error:  # noqa: BLE001 - a scrape reports a source down, it never fails
                log.warning("metrics: %s gauges unavailable: %s", source, type(error).__name__)
                up.add_metric([source], 0)
            else:
                up.add_metric([source], 1)
        yield up

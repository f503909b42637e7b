"""The deployment's Prometheus instruments (the official `prometheus_client`): request latency per route and
status, sales and check-ins per tenant, and `counter` for a plugin's own counts. `/metrics` exports them.

Recording is an in-memory (or, with PROMETHEUS_MULTIPROC_DIR, a memory-mapped file) increment: never a query,
a lock held across I/O, or a label that grows with traffic (no raw paths, no tenant on the latency histogram).
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram, disable_created_metrics

disable_created_metrics()  # no `_created` series: half the lines of a scrape, nothing a dashboard reads

REQUEST_SECONDS = Histogram(
    "boxoffice_http_request_duration_seconds",
    "Time from the WSGI call to the answer's headers, per route (the URL rule, `unmatched` when none) and status.",
    ["route", "method", "status"],
    buckets=(0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))
SALES = Counter("boxoffice_sales", "Bookings confirmed (paid, free or marked paid), per tenant.", ["org"])
TICKETS_SOLD = Counter("boxoffice_tickets_sold", "Tickets issued by confirmed bookings, per tenant.", ["org"])
CHECK_INS = Counter("boxoffice_check_ins", "Admitted door scans (refusals not counted), per tenant.", ["org"])

UNMATCHED_ROUTE = "unmatched"
"""The `route` label of a request no URL rule matched (a routing 404 or 405): never its raw path."""

_series: dict[tuple, object] = {}
_plugin_counters: dict[str, Counter] = {}


def _child(metric: Counter | Histogram, *labels: str):
    """The labelled series of `metric` for `labels`, looked up once and then reused (prometheus_client's
    `labels()` validates and converts on every call, a few microseconds each)."""
    key = (metric, labels)
    series = _series.get(key)
    if series is None:
        series = _series[key] = metric.labels(*labels)
    return series


def observe_request(route: str, method: str, status: int, seconds: float) -> None:
    """Record one answered request in the latency histogram."""
    _child(REQUEST_SECONDS, route, method, str(status)).observe(seconds)


def count_sale(org_id: str, tickets: int) -> None:
    """A booking of tenant `org_id` was confirmed with `tickets` tickets (call once its transaction committed)."""
    _child(SALES, org_id).inc()
    if tickets:
        _child(TICKETS_SOLD, org_id).inc(tickets)


def count_check_in(org_id: str) -> None:
    """A ticket of tenant `org_id` was admitted (call once the admission committed)."""
    _child(CHECK_INS, org_id).inc()


def counter(name: str, documentation: str, labels: tuple[str, ...] = ()) -> Counter:
    """A counter of a plugin's own, exported on `/metrics` with the core's (as `<name>_total`); the same object
    for the same name, so a module imported twice does not register it twice. Name it `boxoffice_<plugin>_...`
    and keep its labels bounded (a tenant id is fine, a raw path or an e-mail is not)."""
    found = _plugin_counters.get(name)
    if found is None:
        found = _plugin_counters[name] = Counter(name, documentation, list(labels))
    return found

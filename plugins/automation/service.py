"""Webhooks: tenants' endpoints, signed JSON events `{id, type, created, org, data}`, deliveries by job.

Knows nothing of Flask. Each delivery is retried with exponential backoff up to MAX_ATTEMPTS, then marked
failed and replayable; a receiver that is down never costs a sale. Secrets are never logged or listed.
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import logging
import secrets
import time
import uuid

from core import metrics, outbox
from core.api.ticket_schema import ticket_view
from core.config import current_config
from core.db import write_transaction
from core.errors import Unprocessable
from core.jobs import RetryPolicy, job
from core.models import Ticket, utcnow
from core.pagination import Page, SortKey, paginate_cursor
from core.tenancy import get_scoped, scoped
from core.timefmt import iso_utc
from plugins.automation import signing, transport
from plugins.automation.models import Delivery, Endpoint
from plugins.automation.urls import Destination, check_url

log = logging.getLogger(__name__)

EVENT_TYPES = ("booking.confirmed", "tickets.issued", "ticket.transferred", "ticket.checked_in",
               "ticket.cancelled", "ticket.refunded", "booking.expired", "event.published", "event.refunded",
               "event.cancelled", "ticket.holder_changed", "checkin.conflict", "waitlist.joined",
               "waitlist.offered", "waitlist.accepted", "waitlist.lapsed", "waitlist.withdrawn", "waitlist.left",
               "resale.listed", "resale.withdrawn", "resale.sold")
RETRY = RetryPolicy(max_attempts=6, delay_seconds=60, backoff=3)
MAX_ATTEMPTS = RETRY.max_attempts
retry_delay_after = RETRY.delay_after
TIMEOUT_SECONDS = 10
MAX_ENDPOINTS = 20
USER_AGENT = "Boxoffice-Webhooks/1"
EVENT_ID_HEADER = "Boxoffice-Event-Id"
DELIVERY_FAILURES = metrics.counter(
    "boxoffice_webhook_delivery_failures", "Failed webhook delivery attempts, per tenant; `final` is true for the "
    "attempt after which the delivery is marked failed (no retry left).", ("org", "final"))
DELIVERY_KEYS = (SortKey("created", Delivery.created_at, "datetime", descending=True, attr="created_at"),
                 SortKey("id", Delivery.id, descending=True))



class DeliveryFailed(Exception):
    """One attempt failed; the job queue retries it with backoff until MAX_ATTEMPTS."""



def allow_private() -> bool:
    """Whether the operator lets webhooks reach loopback/private addresses (tests, private networks)."""
    return bool(current_config().webhooks_allow_private)



# --- endpoints -----------------------------------------------------------------------------------

def create_endpoint(org, *, url: str, event_types: list[str], description: str = "",
                    active: bool = True) -> Endpoint:
    """Register an endpoint (422 `url_not_allowed` for internal URLs); its new secret is on the result."""
    unknown = sorted(set(event_types) - set(EVENT_TYPES))
    if unknown or not event_types:
        raise Unprocessable(f"eventTypes must be a non-empty list of: {', '.join(EVENT_TYPES)}.",
                            type="invalid_event_types", errors={"eventTypes": unknown or ["empty"]})
    url = check_url(url, allow_private=allow_private()).url
    with write_transaction():
        if scoped(Endpoint, org).count() >= MAX_ENDPOINTS:
            raise Unprocessable(f"At most {MAX_ENDPOINTS} endpoints per organisation.", type="too_many_endpoints")
        return Endpoint.create(org=_org_id(org), url=url, description=description, active=active,
                               event_types=sorted(set(event_types)), secret="whsec_" + secrets.token_urlsafe(32))


def list_endpoints(org) -> list[Endpoint]:
    """The tenant's endpoints, oldest first."""
    return list(scoped(Endpoint, org).order_by(Endpoint.created_at, Endpoint.id).limit(MAX_ENDPOINTS))


def delete_endpoint(org, endpoint_id: str) -> None:
    """Remove an endpoint and its delivery log (404 `endpoint_not_found`)."""
    endpoint = get_scoped(Endpoint, org, endpoint_id, "endpoint")
    with write_transaction():
        Delivery.delete().where((Delivery.org == endpoint.org_id) & (Delivery.endpoint == endpoint.id)).execute()
        endpoint.delete_instance()


def endpoint_view(endpoint: Endpoint, *, with_secret: bool = False) -> dict:
    """An endpoint as the API shows it; the secret only right after creation."""
    view = {"id": endpoint.id, "url": endpoint.url, "description": endpoint.description,
            "eventTypes": list(endpoint.event_types or []), "active": endpoint.active,
            "createdAt": iso_utc(endpoint.created_at)}
    if with_secret:
        view["secret"] = endpoint.secret
    return view


# --- events --------------------------------------------------------------------------------------

def _org_id(org) -> str:
    return org if isinstance(org, str) else org.id


def new_event_id() -> str:
    """A unique event id (`evt_<32 hex>`) receivers use to de-duplicate."""
    return f"evt_{uuid.uuid4().hex}"


def emit(org, event_type: str, data: dict) -> list[Delivery]:
    """Queue one event for every active endpoint of the tenant subscribed to `event_type`."""
    endpoints = [e for e in scoped(Endpoint, org).where(Endpoint.active == True)  # noqa: E712
                 if event_type in (e.event_types or [])]
    if not endpoints:
        return []
    event = {"id": new_event_id(), "type": event_type, "created": int(time.time()), "org": _org_id(org),
             "data": data}
    body = json.dumps(event, separators=(",", ":"), sort_keys=True, default=str)
    with write_transaction():
        deliveries = [Delivery.create(org=_org_id(org), endpoint=e.id, event_id=event["id"], event_type=event_type,
                                      body=body, next_attempt_at=utcnow()) for e in endpoints]
        for delivery in deliveries:
            _enqueue(delivery)
    return deliveries


def _enqueue(delivery: Delivery) -> None:
    """Record the delivery's attempt in the outbox (with the transaction that logs it, when one is open)."""
    outbox.enqueue(deliver_job, delivery.org_id, delivery.id)


def ticket_data(ticket: Ticket) -> dict:
    """A ticket in an event payload (the staff view, with no QR payload or claim token)."""
    return ticket_view(ticket.reread(), staff=True)


def booking_data(booking) -> dict:
    """A booking in an event payload."""
    return {"id": booking.id, "eventId": booking.event_id, "status": booking.status, "email": booking.email,
            "name": booking.name, "customerId": booking.customer_id, "gateway": booking.gateway,
            "amount": booking.amount, "currency": booking.currency, "seats": booking.seats,
            "refundedAmount": booking.refunded_amount, "confirmedAt": iso_utc(booking.confirmed_at),
            "createdAt": iso_utc(booking.created_at)}


def event_data(event) -> dict:
    """A catalogue event in an event payload."""
    return {"id": event.id, "name": event.name, "slug": event.slug, "type": event.type, "tz": event.tz,
            "startsAt": iso_utc(event.starts_at), "endsAt": iso_utc(event.ends_at),
            "publishedAt": iso_utc(event.published_at), "parentEventId": event.__data__.get("parent")}


# --- delivery ------------------------------------------------------------------------------------

def post_signed(destination: Destination, secret: str, body: bytes, event_id: str) -> int:
    """POST `body` with the signature header and the event id (`EVENT_ID_HEADER`, the same on every attempt,
    so a receiver drops repeats) to the checked addresses; the HTTP status (OSError on no answer)."""
    return transport.post(destination, {"Content-Type": "application/json", "User-Agent": USER_AGENT,
                                        signing.HEADER: signing.sign(secret, body), EVENT_ID_HEADER: event_id},
                          body, TIMEOUT_SECONDS)


def _attempt(endpoint: Endpoint, delivery: Delivery) -> tuple[int | None, str | None]:
    """Resolve and check the URL now (DNS can change), then POST to exactly the addresses checked."""
    try:
        code = post_signed(check_url(endpoint.url, allow_private=allow_private()), endpoint.secret,
                           delivery.body.encode(), delivery.event_id)
    except Unprocessable as exc:
        return None, exc.message
    except (OSError, ValueError, http.client.HTTPException) as exc:
        return None, f"{type(exc).__name__}: {exc}"[:500]
    if 300 <= code < 400:
        return code, f"HTTP {code}: redirects are not followed; register the final URL"
    return code, None if 200 <= code < 300 else f"HTTP {code}"


def deliver(org_id: str, delivery_id: str) -> Delivery | None:
    """One attempt to deliver; records the outcome and raises DeliveryFailed while retries remain.

    Succeeded and failed deliveries are left alone (replay a failed one to try again).
    """
    delivery = Delivery.get_or_none((Delivery.id == delivery_id) & (Delivery.org == org_id))
    if delivery is None or delivery.status in ("succeeded", "failed"):
        return delivery
    endpoint = Endpoint.get_or_none((Endpoint.id == delivery.endpoint_id) & (Endpoint.org == delivery.org_id))
    Delivery.update(attempts=Delivery.attempts + 1, updated_at=utcnow()).where(delivery.row_condition()).execute()
    attempts = delivery.attempts + 1
    if endpoint is None or not endpoint.active:
        code, error = None, "The endpoint is disabled."
    else:
        code, error = _attempt(endpoint, delivery)
    now = utcnow()
    if error is None:
        Delivery.update(status="succeeded", last_status_code=code, last_error=None, delivered_at=now,
                        next_attempt_at=None, updated_at=now).where(delivery.row_condition()).execute()
        return delivery.reread()
    final = attempts >= MAX_ATTEMPTS or endpoint is None or not endpoint.active
    next_at = None if final else now + dt.timedelta(seconds=retry_delay_after(attempts))
    Delivery.update(status="failed" if final else "retrying", last_status_code=code, last_error=error,
                    next_attempt_at=next_at, updated_at=now).where(delivery.row_condition()).execute()
    log.info("webhook delivery %s attempt %d failed (%s)", delivery.id, attempts, code or "no answer")
    DELIVERY_FAILURES.labels(org_id, "true" if final else "false").inc()
    if final:
        return delivery.reread()
    raise DeliveryFailed(f"attempt {attempts} failed; retrying in {retry_delay_after(attempts)} s")


@job(policy=RETRY)
def deliver_job(org_id: str, delivery_id: str) -> None:
    """Job: one delivery attempt (the queue retries it with exponential backoff)."""
    deliver(org_id, delivery_id)


def replay(org, delivery_id: str) -> Delivery:
    """Send a delivery again with the same event id and body, with a fresh attempt budget."""
    delivery = get_scoped(Delivery, org, delivery_id, "delivery")
    with write_transaction():
        Delivery.update(status="pending", attempts=0, next_attempt_at=utcnow(), updated_at=utcnow()).where(
            delivery.row_condition()).execute()
        _enqueue(delivery)
    return delivery.reread()


def list_deliveries(org, *, size: int, cursor: str | None = None, endpoint_id: str | None = None) -> Page:
    """A page of the tenant's deliveries, newest first, optionally for one endpoint (404 if not theirs)."""
    query = scoped(Delivery, org)
    if endpoint_id is not None:
        get_scoped(Endpoint, org, endpoint_id, "endpoint")
        query = query.where(Delivery.endpoint == endpoint_id)
    return paginate_cursor(query, DELIVERY_KEYS, size, cursor)


def delivery_view(delivery: Delivery) -> dict:
    """A delivery as the API shows it (with the event it carries)."""
    return {"id": delivery.id, "endpointId": delivery.endpoint_id, "eventId": delivery.event_id,
            "eventType": delivery.event_type, "status": delivery.status, "attempts": delivery.attempts,
            "lastStatusCode": delivery.last_status_code, "lastError": delivery.last_error,
            "nextAttemptAt": iso_utc(delivery.next_attempt_at), "deliveredAt": iso_utc(delivery.delivered_at),
            "createdAt": iso_utc(delivery.created_at), "event": json.loads(delivery.body)}

"""A tenant's payment gateways: which plugin provides each, its settings, and voiding a dead cart's payment.

Never changes a booking or its seats; voiding after an expiry or cancel runs in the job queue, never in the
request that expired the hold, and a plugin that fails there is logged, never undoing the expiry.
"""

from __future__ import annotations

import functools
import logging

from core.db import after_commit
from core.jobs import enqueue, job
from core.models import Booking, Org
from core.payments import PaymentCheck
from core.plugins import get_host, hooks_for

log = logging.getLogger(__name__)

DEAD_CART = ("expired", "cancelled")


def enabled_gateways(org: Org | str) -> dict[str, str]:
    """Gateway name -> providing plugin, for the plugins this tenant enabled."""
    host = get_host()
    enabled = host.enabled_for(org if isinstance(org, str) else org.id)
    gateways: dict[str, str] = {}
    for impl in host.pm.hook.payment_gateways.get_hookimpls():
        if impl.plugin_name in enabled:
            for name in impl.function() or []:
                gateways.setdefault(name, impl.plugin_name)
    return gateways


def gateway_settings(org: Org, gateway: str) -> dict:
    """The tenant's settings for the plugin that provides `gateway`."""
    from core.plugins import plugin_settings

    plugin = enabled_gateways(org).get(gateway)
    return plugin_settings(org, plugin) if plugin else {}


def _void_arguments(org: Org, booking: Booking, payment_ref: str | None) -> dict:
    return {"gateway": booking.gateway, "org": org, "booking": booking,
            "payment_ref": payment_ref or booking.payment_ref, "settings": gateway_settings(org, booking.gateway)}


def void_payment(org: Org, booking: Booking, payment_ref: str | None = None) -> PaymentCheck | None:
    """Ask the booking's gateway now to void its open payment (`gateway_void_payment`) and say whether it had
    been paid; None when no enabled plugin voids payments of that gateway. Provider failures propagate."""
    return hooks_for(org).gateway_void_payment(**_void_arguments(org, booking, payment_ref))


@job()
def void_payment_job(org_id: str, booking_id: str) -> None:
    """Background: void the open payment of an expired or cancelled booking, each plugin on its own."""
    booking = Booking.get_or_none((Booking.id == booking_id) & (Booking.org == org_id))
    if booking is None or booking.status not in DEAD_CART:
        return   # paid and confirmed meanwhile: nothing to void
    org = booking.org
    hooks_for(org).notify("gateway_void_payment", **_void_arguments(org, booking, None))


def _enqueue_void(org_id: str, booking_id: str) -> None:
    try:
        enqueue(void_payment_job, org_id, booking_id)
    except Exception:  # noqa: BLE001 - a queue outage must not break the expiry; the payment stays open
        log.exception("could not queue the void of booking %s's payment", booking_id)


def void_payment_later(booking: Booking) -> None:
    """Once the current transaction commits, queue the void of a dead cart's payment at its provider (so the
    buyer can no longer pay for it). Bookings without a provider reference (offline) have nothing to void."""
    if booking.payment_ref and booking.amount > 0:
        after_commit(functools.partial(_enqueue_void, booking.org_id, booking.id))

"""A tenant's payment providers: which are available, which is the default, their settings, voiding dead carts.

Never changes a booking or its seats; voiding after an expiry or cancel runs in the job queue, never in the
request that expired the hold, and a provider that fails there is logged, never undoing the expiry.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass

from marshmallow import INCLUDE

from core import outbox
from core.api_schema import Schema
from core.errors import Unprocessable
from core.jobs import job
from core.models import Booking, Org
from core.payments import BUILTIN_PROVIDERS, PaymentCheck, PaymentProvider, Step
from core.plugins import get_host, plugin_settings
from core.services import idempotency

log = logging.getLogger(__name__)

DEAD_CART = ("expired", "cancelled")
DEFAULT_GATEWAY_SETTING = "default_gateway"


@dataclass(frozen=True)
class Gateway:
    """A provider as one tenant has it: the object, the plugin that provides it (None: the core's own)."""

    provider: PaymentProvider
    plugin: str | None
    org: Org

    @property
    def identifier(self) -> str:
        """The provider's identifier (`paymentGateway`, `booking.gateway`)."""
        return self.provider.identifier

    @functools.cached_property
    def settings(self) -> dict:
        """The tenant's settings for the providing plugin (empty for the core's own methods)."""
        return plugin_settings(self.org, self.plugin) if self.plugin else {}


def _plugin_providers(org_id: str) -> list[tuple[PaymentProvider, str]]:
    host = get_host()
    enabled = host.enabled_for(org_id)
    found = []
    for impl in host.pm.hook.payment_gateways.get_hookimpls():
        if impl.plugin_name not in enabled:
            continue
        for provider in impl.function() or []:
            if not isinstance(provider, PaymentProvider) or not provider.identifier:
                raise TypeError(f"plugin {impl.plugin_name!r}: payment_gateways must return PaymentProvider "
                                f"objects with an identifier, not {provider!r}")
            found.append((provider, impl.plugin_name))
    return found


def settings_schemas(plugin: str) -> list[type[Schema]]:
    """The settings schemas of the payment providers `plugin` offers (empty for other plugins)."""
    schemas = []
    for impl in get_host().pm.hook.payment_gateways.get_hookimpls():
        if impl.plugin_name == plugin:
            schemas += [p.settings_schema for p in impl.function() or [] if p.settings_schema is not None]
    return schemas


def check_settings(plugin: str, settings: dict) -> None:
    """Validate a plugin's settings with its providers' schemas (keys they do not declare are left alone);
    422 `invalid_setting` with the field errors."""
    for schema in settings_schemas(plugin):
        errors = schema(unknown=INCLUDE).validate(settings)
        if errors:
            raise Unprocessable(f"Invalid settings for {plugin}: {', '.join(sorted(errors))}.",
                                type="invalid_setting", errors=errors)


def secret_settings(plugin: str) -> set[str]:
    """The setting keys the plugin's provider schemas mark secret (`metadata={"secret": True}`): never shown."""
    return {name for schema in settings_schemas(plugin) for name, f in schema().fields.items()
            if f.metadata.get("secret")}


def gateways(org: Org) -> dict[str, Gateway]:
    """Every provider the tenant can use, by identifier: the core's own methods, then its enabled plugins'
    (a plugin's provider replaces a core method of the same identifier; the first plugin wins otherwise)."""
    found = {p.identifier: Gateway(p, None, org) for p in BUILTIN_PROVIDERS}
    claimed: set[str] = set()
    for provider, plugin in _plugin_providers(org.id):
        if provider.identifier not in claimed:
            claimed.add(provider.identifier)
            found[provider.identifier] = Gateway(provider, plugin, org)
    return found


def before_calling(gateway: Gateway, point: str | None = None, **data) -> None:
    """Before a provider is called: one that calls out (`PaymentProvider.calls_out`) may take seconds over the
    network, so the request's held writes commit first as an idempotency phase with recovery point `point`
    and `data` (see `idempotency.checkpoint`); no transaction stays open across the call. A provider that
    runs in process (free, offline) needs no phase."""
    if gateway.provider.calls_out:
        idempotency.checkpoint(point, **data)


def gateway_for(org: Org, identifier: str) -> Gateway:
    """The tenant's provider with this identifier (422 `gateway_not_enabled` otherwise)."""
    found = gateways(org).get(identifier or "")
    if found is None:
        raise Unprocessable(f"The payment gateway {identifier!r} is not enabled for this organisation.",
                            type="gateway_not_enabled")
    return found


def offered(org: Org, *, staff: bool = False) -> dict[str, Gateway]:
    """The providers a booking that costs money may be paid with: buyer-selectable ones (staff: all) that can
    start a payment."""
    return {name: g for name, g in gateways(org).items()
            if g.provider.supports(Step.CREATE) and (staff or g.provider.buyer_selectable)}


def default_gateway(org: Org) -> str | None:
    """The gateway an online purchase naming none uses: the tenant's `default_gateway` setting while it is
    offered, else the single offered provider that takes money itself, else the single offered one."""
    choices = offered(org)
    setting = (org.settings or {}).get(DEFAULT_GATEWAY_SETTING)
    if setting in choices:
        return setting
    paying = [name for name, g in choices.items() if not g.provider.settled_by_staff]
    if len(paying) == 1:
        return paying[0]
    return next(iter(choices)) if len(choices) == 1 else None


def gateway_settings(org: Org, identifier: str) -> dict:
    """The tenant's settings for the plugin that provides `identifier` (empty if none does)."""
    found = gateways(org).get(identifier)
    return found.settings if found else {}


def void_payment(org: Org, booking: Booking, payment_ref: str | None = None) -> PaymentCheck | None:
    """Ask the booking's provider now to void its open payment and say whether it had been paid; None when the
    provider cannot void (or is no longer enabled). Provider failures propagate."""
    found = gateways(org).get(booking.gateway)
    if found is None or not found.provider.supports(Step.VOID):
        return None
    before_calling(found)
    return found.provider.void_payment(org, booking, payment_ref or booking.payment_ref, found.settings)


@job()
def void_payment_job(org_id: str, booking_id: str) -> None:
    """Background: void the open payment of an expired or cancelled booking; a failure is only logged."""
    booking = Booking.get_or_none((Booking.id == booking_id) & (Booking.org == org_id))
    if booking is None or booking.status not in DEAD_CART:
        return   # paid and confirmed meanwhile: nothing to void
    try:
        void_payment(booking.org, booking)
    except Exception:  # noqa: BLE001 - the expiry is committed; the payment stays open at the provider
        log.exception("could not void the payment of booking %s at %s", booking_id, booking.gateway)


def void_payment_later(booking: Booking) -> None:
    """Record in the outbox, inside the current write transaction, the void of a dead cart's payment at its
    provider (so the buyer can no longer pay for it); it runs once that commits. Bookings without a provider
    reference (offline) have nothing to void."""
    if booking.payment_ref and booking.amount > 0:
        outbox.enqueue(void_payment_job, booking.org_id, booking.id)

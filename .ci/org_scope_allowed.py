"""The operator-wide statements the org_id scope check (`.ci/org_scope.py`) lets through, each with its reason.

Data only: an entry names the code (`path:function`, or `path/` for every function under a folder; any of a
statement's recorded frames) and the tenant tables it may touch across tenants; never one for a tenant's request.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Allowed:
    """Statements run by `site` may leave `tables` unconstrained by org_id, because of `reason`."""

    site: str
    tables: tuple[str, ...]
    reason: str


EVERY_TABLE = ("*",)

ALLOWED: tuple[Allowed, ...] = (
    Allowed("core/migrations/", EVERY_TABLE,
            "migrations change and backfill every tenant's rows at once (operator's `boxoffice db upgrade`), and "
            "read PostgreSQL's catalog"),
    Allowed("core/models/public_id.py:unused_public_ids", EVERY_TABLE,
            "a numeric public id is unique per table across the deployment (its unique index), so a draw is "
            "checked against every tenant's rows; the Citus plan makes it (org_id, public_id)"),
    Allowed("core/models/public_id.py:ensure_unused", EVERY_TABLE,
            "the same uniqueness check for one row saved with a drawn public id"),
    Allowed("core/services/holds.py:expire_holds_job", ("booking",),
            "the periodic hold-expiry sweep finds overdue holds of every tenant (each is then expired within "
            "its tenant)"),
    Allowed("core/metrics_gauges.py:database_gauges", ("booking", "ticket_type", "outbox_entry"),
            "the /metrics scrape's deployment-wide gauges (holds active, seats held, outbox backlog), per scrape"),
    Allowed("core/outbox.py:sweep", ("outbox_entry",),
            "the outbox sweep hands over due entries of every tenant (and operator-wide ones, which have none)"),
    Allowed("core/outbox.py:purge_done", ("outbox_entry",), "the sweep deletes done entries of every tenant"),
    Allowed("core/outbox.py:run_entry", ("outbox_entry",),
            "the queue hands a worker an entry by its id; entries of operator-wide jobs have no tenant, so the "
            "deployment's queue table stays a local table in the Citus plan"),
    Allowed("core/services/idempotency.py:purge_old_keys", ("idempotency_record",),
            "the hourly clean-up deletes expired idempotency keys of every tenant"),
    Allowed("core/api_keys.py:identity_for_key", ("api_key",),
            "an API key names its tenant: it is looked up by its digest before the tenant is known "
            "(a reference table in the Citus plan)"),
    Allowed("core/tenancy.py:_domain_map", ("tenant_domain",),
            "the hostname map (hostname -> tenant) is read whole, before the tenant is known"),
    Allowed("tenants/service.py:add_domain", ("tenant_domain",),
            "a hostname belongs to one tenant across the deployment: the operator's add checks every tenant's"),
    Allowed("tenants/service.py:plugin_overview", ("tenant_plugin",),
            "the operator's plugin list shows which tenants enabled each plugin"),
    Allowed("plugins/cybersource/provider.py:callback_org", ("booking",),
            "CyberSource's callback carries no tenant: the booking its reference names tells which tenant it is"),
    Allowed("plugins/club_cart/checkout.py:_group_org", ("club_cart_checkout_group",),
            "the same for a checkout group's reference in CyberSource's callback"),
    Allowed("plugins/resale/waitlist_offers.py:lapse_listing_offers", ("resale_waitlist_offer",),
            "the periodic sweep finds overdue waiting-list offers on resale listings of every tenant (each is then "
            "lapsed and passed on within its tenant)"),
    Allowed("plugins/resale/waitlist_offers.py:lapse_dead_booking_offers", ("resale_waitlist_offer", "booking"),
            "the periodic sweep finds open waiting-list offers of every tenant whose booking ended without its "
            "hook (each is then lapsed and passed on within its tenant)"),
    Allowed("plugins/storefront/orders.py:reconcile", ("storefront_order", "booking"),
            "the periodic reconcile job settles stale orders of every tenant (each then within its tenant)"),
)

"""HTTP layer: one flask-smorest blueprint per resource family, registered by `register_core_blueprints`.

Views parse with marshmallow schemas, call services and serialise; no rules live here.
"""

from __future__ import annotations

from importlib import import_module

# Modules that expose a `blp` Blueprint, in registration order.
CORE_BLUEPRINT_MODULES = [
    "core.api.health",
    "core.api.ready",
    "core.api.metrics",
    "core.api.auth",
    "core.api.venues",
    "core.api.events",
    "core.api.taxonomy",
    "core.api.event_lists",
    "core.api.list_images",
    "core.api.templates",
    "core.api.event_covers",
    "core.api.cover_images",
    "core.api.event_refund",
    "core.api.client_events",
    "core.api.ticket_pdf",
    "core.api.ticket_pdf_links",
    "core.api.wallet_templates",
    "core.api.wallet_passes",
    "core.api.wallet_pass_links",
    "core.api.purchase",
    "core.api.waiting_room",
    "core.api.staff_issue",
    "core.api.ticket_types",
    "core.api.ticket_configurations",
    "core.api.barcode_pools",
    "core.api.data",
    "core.api.checkin",
    "core.api.door",
    "core.api.staff_tickets",
    "core.api.event_reports",
    "core.api.pickups",
    "core.api.client_tickets",
    "core.api.store_credit",
    "core.api.participation",
    "core.api.org_settings",
    "core.api.officers",
    "core.api.account_links",
    "core.api.api_keys",
    "core.api.audit",
    "core.api.members",
    "core.api.member_auth",
    "core.api.payment_webhooks",
    "core.api.payment_redirects",
]


def register_core_blueprints(api) -> None:
    """Register every core blueprint on the flask-smorest Api (extensions add theirs: `core.extensions`)."""
    for module_name in CORE_BLUEPRINT_MODULES:
        api.register_blueprint(import_module(module_name).blp)

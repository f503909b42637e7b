"""Provider webhooks for every gateway: `POST /webhooks/<gateway>/<orgid>`, handed to that provider's step.

The org comes from the path (providers send no `orgid` header); never acts itself: the provider verifies the
delivery's signature and re-fetches what it reports before anything changes.
"""

from __future__ import annotations

from flask import request

from core.api.blueprint import Blueprint
from core.errors import NotFound
from core.payments import Step, WebhookDelivery
from core.payments.kit import WebhookAck
from core.services import gateways
from core.tenancy import load_org, tenant_exempt

blp = tenant_exempt(Blueprint("payment_webhooks", __name__,
                              description="Payment provider webhooks (signed; gateway and org in the path)"))


@blp.route("/webhooks/<gateway>/<org_id>", methods=["POST"])
@blp.response(200, WebhookAck)
def provider_webhook(gateway: str, org_id: str):
    """A provider's notification for one tenant (404 `unknown_org` / `plugin_not_enabled`, 400
    `invalid_signature`); 200 means the provider need not send it again."""
    org = load_org(org_id) if len(org_id) <= 64 else None
    if org is None:
        raise NotFound(f"No organisation with id {org_id!r}.", type="unknown_org")
    found = gateways.gateways(org).get(gateway)
    if found is None or not found.provider.supports(Step.WEBHOOK):
        raise NotFound(f"No payment gateway {gateway!r} with webhooks is enabled for this organisation.",
                       type="plugin_not_enabled")
    delivery = WebhookDelivery(body=request.get_data(), headers=request.headers)
    return found.provider.handle_webhook(org, found.settings, delivery)

"""What payment providers call without our headers: webhooks (`POST /webhooks/<gateway>/<orgid>`) and the
signed way back from a provider's payment page (`/payments/return/<token>`).

The org comes from the path or the signed token; never acts itself: the provider verifies what it is sent and
re-fetches what it reports, and the core confirms through confirm-order's path, before anything changes.
"""

from __future__ import annotations

from flask import redirect, request

from core.api.blueprint import Blueprint
from core.errors import NotFound
from core.payments import Step, WebhookDelivery
from core.payments.kit import WebhookAck
from core.services import gateways, payment_redirects
from core.tenancy import load_org, tenant_exempt

blp = tenant_exempt(Blueprint("payment_webhooks", __name__,
                              description="Payment provider webhooks and returns (signed; no orgid header)"))


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


@blp.route(payment_redirects.CALLBACK_PATH + "<token>", methods=["GET", "POST"])
@blp.doc(responses={"303": {"description": "to the returnUrl given when the redirect started (Location header)",
                            "content": {"text/html": {"schema": {"type": "string"}}}}})
def payment_return(token: str):
    """The provider sends the buyer back here: the booking is confirmed once if paid, then the buyer goes on to
    the return URL (`status`: confirmed, pending or failed, with `reason`). 400 `invalid_callback` for a forged
    or expired link."""
    params = {**request.args.to_dict(), **request.form.to_dict()}
    return redirect(payment_redirects.finish(token, params).location(), code=303)

"""Building a `PurchaseRequest` from a parsed purchase body: the one way the core's purchase views and a
plugin's own checkout turn a body into the booking service's input.

Reads no Flask state (the caller passes the org and the verified identity) and never writes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.config import current_config
from core.errors import INVALID_INPUT, Unprocessable
from core.identity import Identity
from core.models import Customer, Org
from core.services.booking import Buyer, PurchaseRequest
from core.tenancy import scoped


def _hold_minutes(org: Org) -> int:
    """How long the tenant's unpaid bookings hold their seats: its own setting, else the deployment's."""
    return org.hold_minutes or current_config().hold_minutes


def _buyer(identity: Identity | None, data: Mapping[str, Any], *, guest_needs_contact: bool) -> Buyer:
    """The buyer: a logged-in customer (email/name default to the account's), else the body's email and name.

    A guest without `email` or `name` gets 422 `validation_error` naming them, when `guest_needs_contact`.
    """
    customer = None
    if identity is not None and identity.role == "customer":
        customer = scoped(Customer, identity.org).where(Customer.id == identity.sub).first()
    if guest_needs_contact and customer is None:
        missing = {f: ["Required for guests (or send a customer token)."] for f in ("email", "name") if not data.get(f)}
        if missing:
            raise Unprocessable(INVALID_INPUT, errors={"json": missing})
    email = data.get("email") or (customer.email if customer else "")
    name = data.get("name") or (customer.name if customer else "")
    return Buyer(email=email.strip().lower(), name=name.strip(), customer=customer)


def _holders(sent) -> list[dict] | None:
    """Per-ticket holders as the booking keeps them: `{name, email}` trimmed, the e-mail lower-cased."""
    if sent is None:
        return None
    return [{"name": (h.get("name") or "").strip(), "email": (h.get("email") or "").strip().lower()} for h in sent]


def purchase_request(org: Org, identity: Identity | None, data: Mapping[str, Any], *, staff: bool, source: str,
                     require_free: bool = False, extras: Mapping[str, Any] | None = None,
                     queue_pass: str | None = None) -> PurchaseRequest:
    """The booking service's input for a body loaded by `core.api.purchase.PurchaseSchema` (or a schema built
    on it, such as a plugin's checkout): `items` / `tickets` / `ticketTypeId`+`quantity`, buyer, codes, gateway.

    Each item's optional `holders` (one `{name, email}` per ticket) are checked against its ticket type's
    configuration by the booking service. `staff` sales skip the guest contact check and may sell private
    types; `source` is recorded on the booking (`online`, `box_office`, `register`); `extras` reaches the
    `price_booking` hook as its `extras` argument (plugin-specific parts of the purchase, e.g. the storefront's
    merchandise); `queue_pass` is the waiting-room pass the buyer sent (`core.api.queue_pass.sent_queue_pass`),
    which the booking service wants for a customer purchase of an event whose waiting room is on.
    """
    key = "tickets" if data.get("tickets") else "items"
    items = list(data.get("items") or []) + list(data.get("tickets") or [])
    holders = [(f"{key}[{index}].holders", _holders(item.get("holders"))) for index, item in enumerate(items)]
    if data.get("ticketTypeId"):
        items.append({"ticketTypeId": data["ticketTypeId"], "quantity": data.get("quantity", 1)})
        holders.append(("holders", _holders(data.get("holders"))))
    return PurchaseRequest(
        event_id=data["eventId"], items=[(i["ticketTypeId"], i["quantity"]) for i in items],
        buyer=_buyer(identity, data, guest_needs_contact=not staff), gateway=data.get("paymentGateway"),
        promo_code=data.get("promoCode"), invite_code=data.get("inviteCode"), staff=staff, source=source,
        hold_minutes=_hold_minutes(org), require_free=require_free, extras=dict(extras or {}), holders=holders,
        use_store_credit=bool(data.get("useStoreCredit")), queue_pass=queue_pass)

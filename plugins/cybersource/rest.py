"""CyberSource's REST API for one tenant (refunds of a Secure Acceptance payment), signed with HTTP Signature.

Uses only the tenant's own REST credentials (merchant id, key id, shared secret); never logs or returns them,
and treats every answer that is not a clear success as a refusal or an outage, never as money moved.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from urllib.parse import quote, urlsplit

from core.models import Booking, Org
from core.money import to_major
from core.payments import RefundResult
from core.payments.kit import refund_rejected, timeout_seconds, unavailable
from plugins.cybersource.signing import rest_headers

log = logging.getLogger(__name__)

NAME = "cybersource"
REST_BASES = {"test": "https://apitest.cybersource.com", "live": "https://api.cybersource.com"}
REST_SETTINGS = ("merchant_id", "rest_key_id", "rest_shared_secret")
REFUNDED_STATUSES = ("PENDING", "TRANSMITTED", "REFUNDED", "SETTLED")


def configured(settings: dict) -> bool:
    """True when the tenant gave REST credentials, so refunds go through the API (else they are owed)."""
    return all(str(settings.get(key) or "").strip() for key in REST_SETTINGS)


def api_base(settings: dict) -> str:
    """The REST base URL: the `api_base` setting (tests, proxies), else the environment's host."""
    return (settings.get("api_base") or REST_BASES.get(settings.get("environment") or "test",
                                                       REST_BASES["test"])).rstrip("/")


def _post(settings: dict, path: str, payload: dict) -> tuple[int, dict]:
    """POST `payload` as JSON to `path`, signed; (status, JSON body). 502 on a network failure or a 5xx."""
    base = api_base(settings)
    body = json.dumps(payload, separators=(",", ":")).encode()
    headers = rest_headers(host=urlsplit(base).netloc, method="POST", path=path, body=body,
                           merchant_id=settings["merchant_id"], key_id=settings["rest_key_id"],
                           shared_secret=settings["rest_shared_secret"])
    request = urllib.request.Request(base + path, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout_seconds(settings)) as answer:  # noqa: S310
            status, raw = answer.status, answer.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
        raise unavailable(NAME, type(exc).__name__) from exc
    if status >= 500:
        raise unavailable(NAME, f"HTTP {status}")
    try:
        data = json.loads(raw or b"{}")
    except ValueError as exc:
        raise unavailable(NAME, f"HTTP {status} without JSON") from exc
    return status, data if isinstance(data, dict) else {}


def refund_payment(settings: dict, org: Org, booking: Booking, payment_id: str, amount: int) -> RefundResult:
    """Refund `amount` minor units of the Secure Acceptance payment `payment_id` (its `transaction_id`) with
    `POST /pts/v2/payments/{id}/refunds`; 409 `refund_rejected` when CyberSource refuses."""
    path = f"/pts/v2/payments/{quote(payment_id, safe='')}/refunds"
    payload = {"clientReferenceInformation": {"code": booking.id},
               "orderInformation": {"amountDetails": {"totalAmount": str(to_major(amount, booking.currency)),
                                                      "currency": booking.currency}}}
    status, data = _post(settings, path, payload)
    state = str(data.get("status") or "")
    if status not in (200, 201) or state not in REFUNDED_STATUSES:
        reason = data.get("message") or data.get("reason") or state or f"HTTP {status}"
        raise refund_rejected(NAME, str(reason), str(data.get("reason") or state or status))
    pending = "" if state == "REFUNDED" else f"CyberSource refund is {state}."
    return RefundResult(succeeded=True, reference=str(data.get("id") or ""), amount=amount, reason=pending,
                        data={"status": state, "payment": payment_id})

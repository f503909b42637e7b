"""A loopback CyberSource: the Secure Acceptance hosted page (checks the signed form, answers with a signed
callback and posts it to the profile's Merchant POST URL) and the REST refund API (checks HTTP Signature).

Test-only; signs and checks with its own few lines of HMAC (not the plugin's code), never reaches the network.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
import secrets
import urllib.error
import urllib.request
from decimal import Decimal
from urllib.parse import urlencode

from fakes.base import FakeProvider, Recorded

# what Secure Acceptance requires to be signed in a payment request
REQUIRED_SIGNED = ("access_key", "profile_id", "transaction_uuid", "signed_field_names", "signed_date_time",
                   "locale", "transaction_type", "reference_number", "amount", "currency")
REASON_CODES = {"ACCEPT": "100", "DECLINE": "203", "ERROR": "102", "REVIEW": "480", "CANCEL": "200"}
SIGNATURE_HEADER = re.compile(r'(\w+)="([^"]*)"')


def sign(secret: str, fields: dict) -> str:
    """Secure Acceptance's signature: Base64(HMAC-SHA256(secret, "name=value,..." over signed_field_names))."""
    data = ",".join(f"{name}={fields[name]}" for name in fields["signed_field_names"].split(","))
    return base64.b64encode(hmac.new(secret.encode(), data.encode(), hashlib.sha256).digest()).decode()


class FakeCyberSource(FakeProvider):
    """Profiles (`add_profile`) and REST keys (`add_rest_key`) are what a merchant sets up in the Business
    Center. `decision` is what the next payment ends with; `callback_changes` alters the callback's fields
    before it is signed (a profile-side surprise, e.g. another amount); `deliver=False` skips the Merchant POST."""

    def __init__(self):
        super().__init__()
        self.profiles: dict[str, dict] = {}
        self.rest_keys: dict[str, dict] = {}
        self.transactions: dict[str, dict] = {}
        self.used_uuids: set[tuple[str, str]] = set()
        self.deliveries: list[dict] = []
        self.decision = "ACCEPT"
        self.callback_changes: dict = {}
        self.deliver = True
        self.route("POST", "/pay", self.pay)
        self.route("POST", r"/pts/v2/payments/([^/]+)/refunds", self.refund)

    def reset(self) -> None:
        """Normal answers again (profiles, keys and transactions are kept)."""
        super().reset()
        self.decision, self.callback_changes, self.deliver = "ACCEPT", {}, True
        self.deliveries.clear()

    def add_profile(self, profile_id: str, access_key: str, secret_key: str, merchant_post_url: str | None) -> None:
        """A Secure Acceptance profile: its keys and where callbacks are posted server to server."""
        self.profiles[profile_id] = {"access_key": access_key, "secret_key": secret_key,
                                     "merchant_post_url": merchant_post_url}

    def add_rest_key(self, merchant_id: str, key_id: str, shared_secret: str) -> None:
        """A REST shared secret key (Base64, as the Business Center issues it) of a merchant."""
        self.rest_keys[merchant_id] = {"key_id": key_id, "secret": shared_secret}

    # --- the hosted page ------------------------------------------------------------------------
    def pay(self, record: Recorded):
        """The buyer's browser posted the signed form: refuse a bad one like CyberSource's error page, else
        finish with `decision` and answer the signed callback form the browser is sent back with."""
        form = record.form
        profile = self.profiles.get(form.get("profile_id", ""))
        names = form.get("signed_field_names", "").split(",")
        if profile is None or form.get("access_key") != profile["access_key"]:
            return 403, {"error": "Access denied: unknown profile or access key"}
        if any(name not in names for name in REQUIRED_SIGNED) or any(name not in form for name in names) or \
                not hmac.compare_digest(sign(profile["secret_key"], form), form.get("signature", "")):
            return 403, {"error": "Access denied: signature verification failed"}
        signed_at = dt.datetime.strptime(form["signed_date_time"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
        if abs(dt.datetime.now(dt.UTC) - signed_at) > dt.timedelta(minutes=15):
            return 403, {"error": "Access denied: signed_date_time is too old"}
        decision = self.decision
        if (form["access_key"], form["transaction_uuid"]) in self.used_uuids:
            decision = "ERROR"  # reason 104: access_key and transaction_uuid already used
        callback = self._callback(form, decision)
        # where the browser is sent back with the callback: the signed override (else the profile's page)
        answer = {"decision": decision, "callback": callback,
                  "receipt_page": form.get("override_custom_receipt_page")}
        url = profile["merchant_post_url"]
        return 200, answer, (lambda: self._post_back(url, callback, answer)) if url and self.deliver else None

    def _callback(self, form: dict, decision: str) -> dict:
        fields = {f"req_{name}": form[name] for name in form
                  if name not in ("signature", "signed_field_names", "unsigned_field_names", "signed_date_time")}
        fields.update(decision=decision, reason_code=REASON_CODES.get(decision, "102"),
                      message=f"Fake CyberSource: {decision.lower()}",
                      signed_date_time=dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
        if self.used_uuids and (form["access_key"], form["transaction_uuid"]) in self.used_uuids:
            fields["reason_code"] = "104"
        if decision != "CANCEL":
            fields["transaction_id"] = "".join(secrets.choice("0123456789") for _ in range(22))
        if decision == "ACCEPT":
            fields.update(auth_amount=form["amount"], auth_code="831000", auth_response="00")
            self.used_uuids.add((form["access_key"], form["transaction_uuid"]))
        fields.update(self.callback_changes)
        if decision == "ACCEPT":
            self.transactions[fields["transaction_id"]] = {
                "amount": Decimal(fields["req_amount"]), "currency": fields["req_currency"],
                "refunded": Decimal(0), "reference": fields["req_reference_number"]}
        fields["signed_field_names"] = ",".join([*fields, "signed_field_names"])
        fields["signature"] = sign(self.profiles[form["profile_id"]]["secret_key"], fields)
        return fields

    def _post_back(self, url: str, callback: dict, answer: dict) -> None:
        """The Merchant POST: the callback form, server to server, to the profile's URL."""
        request = urllib.request.Request(url, data=urlencode(callback).encode(), method="POST",
                                         headers={"Content-Type": "application/x-www-form-urlencoded"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                delivered = {"status": response.status, "body": response.read().decode()}
        except urllib.error.HTTPError as exc:
            delivered = {"status": exc.code, "body": exc.read().decode()}
        self.deliveries.append(delivered)
        answer["delivered"] = delivered

    # --- REST -----------------------------------------------------------------------------------
    def _authenticated(self, record: Recorded) -> bool:
        """CyberSource's HTTP Signature check: merchant, key id, digest of the body, signed header values."""
        headers = record.headers
        key = self.rest_keys.get(headers.get("v-c-merchant-id", ""))
        params = dict(SIGNATURE_HEADER.findall(headers.get("signature", "")))
        if key is None or params.get("keyid") != key["key_id"] or params.get("algorithm") != "HmacSHA256":
            return False
        if params.get("headers") != "host date request-target digest v-c-merchant-id":
            return False
        digest = "SHA-256=" + base64.b64encode(hashlib.sha256(record.body).digest()).decode()
        if headers.get("digest") != digest or not headers.get("date"):
            return False
        values = {"host": headers.get("host", ""), "date": headers["date"],
                  "request-target": f"{record.method.lower()} {record.path}", "digest": digest,
                  "v-c-merchant-id": headers["v-c-merchant-id"]}
        message = "\n".join(f"{name}: {values[name]}" for name in params["headers"].split())
        expected = base64.b64encode(hmac.new(base64.b64decode(key["secret"]), message.encode(),
                                             hashlib.sha256).digest()).decode()
        return hmac.compare_digest(expected, params.get("signature", ""))

    def refund(self, record: Recorded, payment_id: str):
        """POST /pts/v2/payments/{id}/refunds: 401 without a valid signature, 400 for an unknown payment or
        more than is left, else 201 PENDING."""
        if not self._authenticated(record):
            return 401, {"response": {"rmsg": "Authentication Failed"}}
        payment = self.transactions.get(payment_id)
        details = ((record.json or {}).get("orderInformation") or {}).get("amountDetails") or {}
        if payment is None:
            return 400, {"status": "INVALID_REQUEST", "reason": "INVALID_DATA",
                         "message": "Declined - The request is missing one or more fields"}
        amount = Decimal(details.get("totalAmount", "0"))
        if details.get("currency") != payment["currency"] or amount <= 0 or \
                payment["refunded"] + amount > payment["amount"]:
            return 400, {"status": "INVALID_REQUEST", "reason": "INVALID_AMOUNT",
                         "message": "The requested refund amount exceeds the remaining amount"}
        payment["refunded"] += amount
        refund_id = "".join(secrets.choice("0123456789") for _ in range(22))
        return 201, {"id": refund_id, "status": "PENDING",
                     "submitTimeUtc": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                     "clientReferenceInformation": (record.json or {}).get("clientReferenceInformation"),
                     "refundAmountDetails": {"refundAmount": details["totalAmount"],
                                             "currency": details["currency"]}}

"""A loopback PayPal REST API (OAuth token, Orders v2, captures, refunds, webhook verification).

Test-only: answers the real `paypal-server-sdk` with PayPal's JSON shapes and errors; never calls PayPal.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
import zlib
from decimal import Decimal

from fakes.base import FakeProvider, Raw, Recorded, Reply

# The fake's stand-in for PayPal's certificate: webhook signatures are HMACs with this key.
SIGNING_KEY = b"fake-paypal-cert"


def _issue(status: int, name: str, issue: str, description: str) -> Reply:
    return Reply(status, {"name": name, "message": "The requested action could not be performed, semantically "
                          "incorrect, or failed business validation.", "debug_id": secrets.token_hex(6),
                          "details": [{"issue": issue, "description": description}],
                          "links": [{"href": f"https://developer.paypal.com/api/rest/reference/orders/v2/"
                                     f"errors/#{issue}", "rel": "information_link", "method": "GET"}]})


def _canonical(event: dict) -> bytes:
    return json.dumps(event, sort_keys=True, separators=(",", ":")).encode()


def signature_string(transmission_id: str, transmission_time: str, webhook_id: str, event: dict) -> bytes:
    """What PayPal signs: `<id>|<time>|<webhook id>|<crc32 of the event>`."""
    return f"{transmission_id}|{transmission_time}|{webhook_id}|{zlib.crc32(_canonical(event))}".encode()


def signed_headers(event: dict, webhook_id: str, *, tamper: bool = False) -> dict:
    """PayPal's transmission headers for `event`, signed so the fake's verify call accepts them."""
    transmission_id = secrets.token_hex(8)
    transmission_time = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    sig = hmac.new(SIGNING_KEY, signature_string(transmission_id, transmission_time, webhook_id, event),
                   hashlib.sha256).hexdigest()
    if tamper:
        sig = "0" * len(sig)
    return {"PAYPAL-TRANSMISSION-ID": transmission_id, "PAYPAL-TRANSMISSION-TIME": transmission_time,
            "PAYPAL-TRANSMISSION-SIG": sig, "PAYPAL-AUTH-ALGO": "SHA256withRSA",
            "PAYPAL-CERT-URL": "https://api.sandbox.paypal.com/v1/notifications/certs/CERT-360caa42"}


def webhook_event(event_type: str, resource: dict) -> dict:
    """A webhook event body as PayPal posts it."""
    return {"id": "WH-" + secrets.token_hex(8).upper(), "event_version": "1.0", "resource_type": "capture",
            "event_type": event_type, "create_time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "summary": event_type, "resource": resource}


class FakePayPal(FakeProvider):
    """PayPal's API for the calls Boxoffice makes; test helpers `approve`, `capture_resource`.

    `capture_mode`: "ok" or "declined" (422 INSTRUMENT_DECLINED); `refund_mode`: "ok" or "rejected"
    (422 CAPTURE_FULLY_REFUNDED).
    """

    def __init__(self):
        super().__init__()
        self.orders: dict[str, dict] = {}
        self.captures: dict[str, dict] = {}
        self.refunds: dict[str, dict] = {}
        self.request_ids: dict[tuple[str, str], tuple[int, dict]] = {}
        self.capture_mode = "ok"
        self.refund_mode = "ok"
        self.route("POST", r"/v1/oauth2/token", self._token)
        self.route("POST", r"/v2/checkout/orders", self._create_order)
        self.route("GET", r"/v2/checkout/orders/([^/]+)", self._get_order)
        self.route("POST", r"/v2/checkout/orders/([^/]+)/capture", self._capture)
        self.route("POST", r"/v2/payments/captures/([^/]+)/refund", self._refund)
        self.route("GET", r"/v2/payments/refunds/([^/]+)", self._get_refund)
        self.route("POST", r"/v1/notifications/verify-webhook-signature", self._verify)
        self.route("GET", r"/sdk/js", self._sdk_js)
        self.route("POST", r"/sdk/approve/([^/]+)", self._approve_from_browser)

    def reset(self) -> None:
        """Normal answers, empty log."""
        super().reset()
        self.capture_mode = "ok"
        self.refund_mode = "ok"

    def is_auth_path(self, path: str) -> bool:
        return path == "/v1/oauth2/token"

    def server_error_body(self) -> dict:
        return {"name": "INTERNAL_SERVER_ERROR", "message": "An internal server error occurred.",
                "debug_id": secrets.token_hex(6)}

    def not_found_body(self, path: str) -> dict:
        return {"name": "RESOURCE_NOT_FOUND", "message": f"The specified resource does not exist: {path}",
                "debug_id": secrets.token_hex(6)}

    # --- test helpers ----------------------------------------------------------------------------
    def approve(self, order_id: str) -> None:
        """The buyer approved the order on PayPal's page."""
        with self.lock:
            self.orders[order_id]["status"] = "APPROVED"

    def approval_return(self, order_id: str) -> str:
        """The buyer approved the order on PayPal's page: where PayPal sends their browser (the order's
        `return_url` with `token` and `PayerID`, as PayPal adds them)."""
        self.approve(order_id)
        back = self.orders[order_id]["payment_source"]["paypal"]["experience_context"]["return_url"]
        return back + ("&" if "?" in back else "?") + f"token={order_id}&PayerID=FAKEPAYER{order_id[:5]}"

    def capture_resource(self, order_id: str) -> dict:
        """The capture object of a captured order (the `resource` of PAYMENT.CAPTURE.COMPLETED)."""
        captures = self.orders[order_id]["purchase_units"][0]["payments"]["captures"]
        return dict(captures[0])

    # --- routes ----------------------------------------------------------------------------------
    def _bearer(self, request: Recorded) -> None:
        if not request.headers.get("authorization", "").startswith("Bearer A21"):
            raise Reply(401, {"error": "invalid_token", "error_description": "Token signature verification "
                                                                            "failed"})

    def _token(self, request: Recorded):
        if not request.headers.get("authorization", "").startswith("Basic "):
            raise Reply(401, {"error": "invalid_client", "error_description": "Client Authentication failed"})
        return 200, {"scope": "https://uri.paypal.com/services/payments/payment", "access_token":
                     "A21AA" + secrets.token_hex(16), "token_type": "Bearer", "app_id": "APP-80W284485P519543T",
                     "expires_in": 32400, "nonce": secrets.token_hex(8)}

    def _replay(self, request: Recorded, create):
        key = request.headers.get("paypal-request-id")
        if key and (request.path, key) in self.request_ids:
            return self.request_ids[(request.path, key)]
        status, body = create()
        if key:
            self.request_ids[(request.path, key)] = (status, body)
        return status, body

    def _create_order(self, request: Recorded):
        self._bearer(request)
        body = request.json or {}
        units = body.get("purchase_units") or []
        if body.get("intent") not in ("CAPTURE", "AUTHORIZE") or not units:
            raise _issue(400, "INVALID_REQUEST", "MISSING_REQUIRED_PARAMETER", "intent and purchase_units are "
                         "required.")
        currency = units[0]["amount"]["currency_code"]
        value = units[0]["amount"]["value"]
        if currency == "JPY" and "." in value:
            raise _issue(422, "UNPROCESSABLE_ENTITY", "DECIMAL_PRECISION", "If the currency supports decimals, "
                         "only two decimal place precision is supported.")

        def create():
            order_id = secrets.token_hex(8).upper()
            order = {"id": order_id, "intent": body["intent"], "status": "CREATED",
                     "create_time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                     "purchase_units": [{"reference_id": u.get("reference_id"), "custom_id": u.get("custom_id"),
                                         "invoice_id": u.get("invoice_id"), "amount": u["amount"],
                                         "description": u.get("description")} for u in units],
                     "links": [{"href": f"{self.url}/v2/checkout/orders/{order_id}", "rel": "self",
                                "method": "GET"},
                               {"href": f"https://www.sandbox.paypal.com/checkoutnow?token={order_id}",
                                "rel": "approve", "method": "GET"},
                               {"href": f"{self.url}/v2/checkout/orders/{order_id}/capture", "rel": "capture",
                                "method": "POST"}]}
            if isinstance(body.get("payment_source"), dict):   # kept here to read the way back from
                order["payment_source"] = body["payment_source"]
            self.orders[order_id] = order
            return 201, order

        return self._replay(request, create)

    def _order(self, order_id: str) -> dict:
        if order_id not in self.orders:
            raise _issue(404, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID", "Specified resource ID does not "
                         "exist. Please check the resource ID and try again.")
        return self.orders[order_id]

    def _get_order(self, request: Recorded, order_id: str):
        self._bearer(request)
        return 200, self._order(order_id)

    def _capture(self, request: Recorded, order_id: str):
        self._bearer(request)
        order = self._order(order_id)
        if order["status"] == "COMPLETED":
            raise _issue(422, "UNPROCESSABLE_ENTITY", "ORDER_ALREADY_CAPTURED", "Order already captured. If "
                         "'intent=CAPTURE' only one capture per order is allowed.")
        if order["status"] != "APPROVED":
            raise _issue(422, "UNPROCESSABLE_ENTITY", "ORDER_NOT_APPROVED", "Payer has not yet approved the "
                         "Order for payment.")
        if self.capture_mode == "declined":
            raise _issue(422, "UNPROCESSABLE_ENTITY", "INSTRUMENT_DECLINED", "The instrument presented was "
                         "either declined by the processor or bank, or it can't be used for this payment.")
        unit = order["purchase_units"][0]
        capture_id = secrets.token_hex(8).upper()
        capture = {"id": capture_id, "status": "COMPLETED", "amount": dict(unit["amount"]),
                   "final_capture": True, "custom_id": unit.get("custom_id"), "invoice_id": unit.get("invoice_id"),
                   "supplementary_data": {"related_ids": {"order_id": order_id}},
                   "links": [{"href": f"{self.url}/v2/payments/captures/{capture_id}/refund", "rel": "refund",
                              "method": "POST"}]}
        self.captures[capture_id] = {**capture, "refunded": "0"}
        unit["payments"] = {"captures": [capture]}
        order["status"] = "COMPLETED"
        return 201, order

    def _refund(self, request: Recorded, capture_id: str):
        self._bearer(request)
        capture = self.captures.get(capture_id)
        if capture is None:
            raise _issue(404, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID", "Specified resource ID does not exist.")

        def create():
            body = request.json or {}
            amount = body.get("amount") or capture["amount"]
            left = Decimal(capture["amount"]["value"]) - Decimal(capture["refunded"])
            if self.refund_mode == "rejected" or left <= 0:
                raise _issue(422, "UNPROCESSABLE_ENTITY", "CAPTURE_FULLY_REFUNDED", "The capture has already "
                             "been fully refunded.")
            if Decimal(amount["value"]) > left:
                raise _issue(422, "UNPROCESSABLE_ENTITY", "REFUND_AMOUNT_EXCEEDED", "The refund amount must be "
                             "less than or equal to the capture amount that has not yet been refunded.")
            capture["refunded"] = str(Decimal(capture["refunded"]) + Decimal(amount["value"]))
            refund_id = secrets.token_hex(8).upper()
            refund = {"id": refund_id, "status": "COMPLETED", "amount": amount,
                      "custom_id": body.get("custom_id"), "invoice_id": body.get("invoice_id"),
                      "links": [{"href": f"{self.url}/v2/payments/captures/{capture_id}", "rel": "up",
                                 "method": "GET"}]}
            self.refunds[refund_id] = refund
            return 201, refund

        return self._replay(request, create)

    def _get_refund(self, request: Recorded, refund_id: str):
        self._bearer(request)
        if refund_id not in self.refunds:
            raise _issue(404, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID", "Specified resource ID does not exist.")
        return 200, self.refunds[refund_id]

    def _sdk_js(self, request: Recorded):
        """A stand-in for PayPal's JS SDK (`<script src="<fake>/sdk/js?client-id=...">`): `paypal.Buttons({createOrder,
        onApprove, onError}).render(target)` draws a PayPal button; clicking it takes the order id from
        `createOrder`, approves that order with this fake (the buyer's approval in PayPal's window), then calls
        `onApprove({orderID, payerID})`, as the real buttons do."""
        return 200, Raw(PAYPAL_JS.replace("__BASE__", self.url).encode(), "text/javascript; charset=utf-8")

    def _approve_from_browser(self, request: Recorded, order_id: str):
        """What the buyer does in PayPal's window: approve a created order (the SDK's client id must be sent)."""
        if not request.form.get("client-id"):
            raise _issue(401, "AUTHENTICATION_FAILURE", "INVALID_CLIENT_ID", "No client id was given.")
        order = self._order(order_id)
        if order["status"] not in ("CREATED", "APPROVED"):
            raise _issue(422, "UNPROCESSABLE_ENTITY", "ORDER_NOT_APPROVABLE", f"The order is {order['status']}.")
        order["status"] = "APPROVED"
        return 200, {"id": order_id, "status": "APPROVED", "payer_id": "FAKEPAYER" + order_id[:5]}

    def _verify(self, request: Recorded):
        self._bearer(request)
        body = request.json or {}
        expected = hmac.new(SIGNING_KEY, signature_string(body.get("transmission_id", ""),
                                                          body.get("transmission_time", ""),
                                                          body.get("webhook_id", ""),
                                                          body.get("webhook_event") or {}),
                            hashlib.sha256).hexdigest()
        ok = hmac.compare_digest(expected, body.get("transmission_sig", ""))
        return 200, {"verification_status": "SUCCESS" if ok else "FAILURE"}


PAYPAL_JS = """(function () {
  "use strict";
  var BASE = "__BASE__";
  var clientId = new URL(document.currentScript.src).searchParams.get("client-id");
  window.paypal = {
    Buttons: function (options) {
      return {
        render: function (target) {
          var el = typeof target === "string" ? document.querySelector(target) : target;
          var button = document.createElement("button");
          button.type = "button";
          button.textContent = "PayPal";
          button.setAttribute("data-paypal-button", "");
          el.appendChild(button);
          button.addEventListener("click", function () {
            button.disabled = true;
            Promise.resolve(options.createOrder({paymentSource: "paypal"}, {}))
              .then(function (orderId) {
                return fetch(BASE + "/sdk/approve/" + orderId,
                             {method: "POST", body: new URLSearchParams({"client-id": clientId})});
              })
              .then(function (r) { return r.json(); })
              .then(function (order) {
                if (order.name) { throw new Error(order.message); }
                return options.onApprove({orderID: order.id, payerID: order.payer_id}, {});
              })
              .catch(function (err) {
                button.disabled = false;
                if (options.onError) { options.onError(err); }
              });
          });
          return Promise.resolve();
        }
      };
    }
  };
})();
"""

"""A loopback Stripe API (payment intents with confirm/capture/cancel and off-session confirms on saved cards,
customers and setup intents, refunds, checkout sessions, charges) plus webhook signing.

Test-only: answers the real `stripe` SDK with Stripe's JSON shapes and error bodies; never calls Stripe.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time

from fakes.base import FakeProvider, Raw, Recorded, Reply


def _unflatten(form: dict) -> dict:
    """Stripe's form encoding (`metadata[org]=x`, `line_items[0][quantity]=1`) back to nested dicts."""
    out: dict = {}
    for key, value in form.items():
        parts = key.replace("]", "").split("[")
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return out


def _error(status: int, type_: str, message: str, code: str | None = None, **extra) -> Reply:
    return Reply(status, {"error": {"type": type_, "code": code, "message": message, **extra}})


PAYABLE = ("requires_payment_method", "requires_confirmation", "requires_action")
CANCELABLE = PAYABLE + ("requires_capture",)


def _expect_status(intent: dict, action: str, allowed: tuple[str, ...]) -> None:
    """Stripe's 400 `payment_intent_unexpected_state` unless the intent is in one of `allowed`."""
    if intent["status"] not in allowed:
        raise _error(400, "invalid_request_error", f"You cannot {action} this PaymentIntent because it has a "
                     f"status of {intent['status']}; it must be one of: {', '.join(allowed)}.",
                     "payment_intent_unexpected_state", payment_intent=dict(intent))


def sign_payload(payload: bytes | str, secret: str, timestamp: int | None = None) -> str:
    """A `Stripe-Signature` header value: `t=<ts>,v1=HMAC-SHA256(secret, "<ts>.<payload>")`."""
    if isinstance(payload, str):
        payload = payload.encode()
    timestamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def event_payload(event_type: str, obj: dict) -> bytes:
    """A webhook event body as Stripe sends it."""
    event = {"id": "evt_" + secrets.token_hex(12), "object": "event", "type": event_type,
             "api_version": "2025-01-27.acacia", "created": int(time.time()), "livemode": False,
             "data": {"object": obj}}
    return json.dumps(event).encode()


class FakeStripe(FakeProvider):
    """Stripe's API for the calls Boxoffice makes (a canceled intent can never be paid again); test helpers
    `pay`, `decline`, `complete_session`.

    `refund_mode`: "ok", "rejected" (400 `charge_already_refunded`, as Stripe answers a second refund) or "5xx"
    (Stripe's 500 `api_error` on refunds only, nothing refunded: an outage in the middle of a money path).
    """

    def __init__(self):
        super().__init__()
        self.intents: dict[str, dict] = {}
        self.sessions: dict[str, dict] = {}
        self.charges: dict[str, dict] = {}
        self.refunds: dict[str, dict] = {}
        self.idempotent: dict[tuple[str, str], tuple[dict, int, dict]] = {}
        self.refund_mode = "ok"
        self.customers: dict[str, dict] = {}
        self.setups: dict[str, dict] = {}
        self.methods: dict[str, str] = {}   # saved payment method id -> what it does off-session (`save_card`)
        self.route("POST", r"/v1/customers", self._create_customer)
        self.route("POST", r"/v1/setup_intents", self._create_setup)
        self.route("GET", r"/v1/setup_intents/([^/]+)", self._get_setup)
        self.route("POST", r"/v1/payment_intents", self._create_intent)
        self.route("GET", r"/v1/payment_intents/([^/]+)", self._get_intent)
        self.route("POST", r"/v1/payment_intents/([^/]+)/confirm", self._confirm_intent)
        self.route("POST", r"/v1/payment_intents/([^/]+)/capture", self._capture_intent)
        self.route("POST", r"/v1/payment_intents/([^/]+)/cancel", self._cancel_intent)
        self.route("POST", r"/v1/refunds", self._create_refund)
        self.route("POST", r"/v1/checkout/sessions", self._create_session)
        self.route("GET", r"/v1/checkout/sessions/([^/]+)", self._get_session)
        self.route("GET", r"/v1/charges/([^/]+)", self._get_charge)
        self.route("GET", r"/v3/?", self._stripe_js)

    def reset(self) -> None:
        """Normal answers, empty log."""
        super().reset()
        self.refund_mode = "ok"

    def server_error_body(self) -> dict:
        return {"error": {"type": "api_error", "message": "An unknown error occurred on Stripe's side."}}

    def not_found_body(self, path: str) -> dict:
        return {"error": {"type": "invalid_request_error", "message": f"Unrecognized request URL (GET: {path})."}}

    # --- test helpers ----------------------------------------------------------------------------
    def pay(self, intent_id: str) -> dict:
        """The customer's card went through: the intent succeeds and gets a charge (a Reply error, as Stripe
        answers, if the intent was canceled or already succeeded)."""
        with self.lock:
            _expect_status(self.intents[intent_id], "confirm", PAYABLE)
            return self._succeed(intent_id)

    def _succeed(self, intent_id: str) -> dict:
        with self.lock:
            intent = self.intents[intent_id]
            charge_id = "ch_" + secrets.token_hex(12)
            self.charges[charge_id] = {"id": charge_id, "object": "charge", "amount": intent["amount"],
                                       "amount_refunded": 0, "refunded": False, "currency": intent["currency"],
                                       "payment_intent": intent_id, "metadata": dict(intent["metadata"]),
                                       "status": "succeeded"}
            intent.update(status="succeeded", latest_charge=charge_id, last_payment_error=None,
                          amount_received=intent["amount"])
            return intent

    def decline(self, intent_id: str) -> dict:
        """The card was declined: the intent goes back to requires_payment_method with the error."""
        with self.lock:
            intent = self.intents[intent_id]
            intent.update(status="requires_payment_method", last_payment_error={
                "type": "card_error", "code": "card_declined", "decline_code": "generic_decline",
                "message": "Your card was declined."})
            return intent

    def save_card(self, setup_id: str, behaviour: str = "ok") -> dict:
        """The buyer saved a card through the SetupIntent (Stripe.js `confirmSetup`): it succeeds with a new
        payment method that, charged off-session, goes through (`ok`), is declined (`card_declined`) or needs the
        buyer to authenticate (`authentication_required`)."""
        with self.lock:
            setup = self.setups[setup_id]
            method_id = "pm_" + secrets.token_hex(12)
            self.methods[method_id] = behaviour
            self.customers[setup["customer"]]["methods"].append(method_id)   # attached to the setup's customer
            setup.update(status="succeeded", payment_method=method_id)
            return setup

    def complete_session(self, session_id: str) -> dict:
        """Hosted checkout finished: the session's intent is paid and the session is complete."""
        with self.lock:
            session = self.sessions[session_id]
            self.pay(session["payment_intent"])
            session.update(status="complete", payment_status="paid")
            return session

    # --- routes ----------------------------------------------------------------------------------
    def _auth(self, request: Recorded) -> None:
        header = request.headers.get("authorization", "")
        if not header.startswith("Bearer sk_"):
            raise _error(401, "invalid_request_error", "Invalid API Key provided.")

    def _idempotent(self, request: Recorded, create):
        key = request.headers.get("idempotency-key")
        if not key:
            return create()
        stored = self.idempotent.get((request.path, key))
        if stored is not None:
            params, status, body = stored
            if params != request.form:
                raise _error(400, "idempotency_error", "Keys for idempotent requests can only be used with "
                             "the same parameters they were first used with.")
            return status, body
        status, body = create()
        self.idempotent[(request.path, key)] = (dict(request.form), status, body)
        return status, body

    def _new_intent(self, params: dict) -> dict:
        intent_id = "pi_" + secrets.token_hex(12)
        intent = {"id": intent_id, "object": "payment_intent", "amount": int(params["amount"]),
                  "amount_received": 0, "currency": params["currency"], "status": "requires_payment_method",
                  "client_secret": f"{intent_id}_secret_{secrets.token_hex(8)}",
                  "metadata": params.get("metadata", {}), "latest_charge": None, "last_payment_error": None,
                  "livemode": False, "created": int(time.time())}
        self.intents[intent_id] = intent
        return intent

    def _create_intent(self, request: Recorded):
        self._auth(request)
        params = _unflatten(request.form)
        if "amount" not in params or "currency" not in params:
            raise _error(400, "invalid_request_error", "Missing required param: amount.", "parameter_missing",
                         param="amount")
        if params.get("confirm") == "true" and params.get("off_session") == "true":
            return self._idempotent(request, lambda: self._charge_off_session(params))
        return self._idempotent(request, lambda: (200, dict(self._new_intent(params))))

    def _charge_off_session(self, params: dict):
        """A PaymentIntent confirmed at once on a saved card with the customer away: succeeded, or Stripe's 402
        `card_error` (`card_declined`, `authentication_required`) with the intent left unpaid in the error."""
        method = params.get("payment_method", "")
        customer = self.customers.get(params.get("customer", ""))
        if method not in self.methods or customer is None or method not in customer["methods"]:
            raise _error(400, "invalid_request_error", f"No such PaymentMethod: '{method}'", "resource_missing",
                         param="payment_method")
        intent = self._new_intent(params)
        intent.update(customer=customer["id"], payment_method=method)
        behaviour = self.methods[method]
        if behaviour == "ok":
            return 200, dict(self._succeed(intent["id"]))
        message = ("Your card was declined." if behaviour == "card_declined" else
                   "This payment requires the customer to authenticate.")
        intent.update(status="requires_payment_method", last_payment_error={
            "type": "card_error", "code": behaviour, "message": message})
        raise _error(402, "card_error", message, behaviour, payment_intent=dict(intent),
                     decline_code="generic_decline" if behaviour == "card_declined" else None)

    def _create_customer(self, request: Recorded):
        self._auth(request)
        params = _unflatten(request.form)

        def create():
            customer_id = "cus_" + secrets.token_hex(12)
            self.customers[customer_id] = {"id": customer_id, "object": "customer", "email": params.get("email"),
                                           "name": params.get("name"), "metadata": params.get("metadata", {}),
                                           "methods": []}
            return 200, {k: v for k, v in self.customers[customer_id].items() if k != "methods"}

        return self._idempotent(request, create)

    def _create_setup(self, request: Recorded):
        self._auth(request)
        params = _unflatten(request.form)
        if params.get("customer") not in self.customers:
            raise _error(400, "invalid_request_error", "No such customer.", "resource_missing", param="customer")

        def create():
            setup_id = "seti_" + secrets.token_hex(12)
            self.setups[setup_id] = {"id": setup_id, "object": "setup_intent", "customer": params["customer"],
                                     "usage": params.get("usage", "off_session"), "status": "requires_payment_method",
                                     "client_secret": f"{setup_id}_secret_{secrets.token_hex(8)}",
                                     "payment_method": None, "metadata": params.get("metadata", {})}
            return 200, dict(self.setups[setup_id])

        return self._idempotent(request, create)

    def _get_setup(self, request: Recorded, setup_id: str):
        self._auth(request)
        if setup_id not in self.setups:
            raise _error(404, "invalid_request_error", f"No such setupintent: '{setup_id}'", "resource_missing")
        return 200, self.setups[setup_id]

    def _get_intent(self, request: Recorded, intent_id: str):
        self._auth(request)
        if intent_id not in self.intents:
            raise _error(404, "invalid_request_error", f"No such payment_intent: '{intent_id}'",
                         "resource_missing", param="intent")
        return 200, self.intents[intent_id]

    def _known_intent(self, request: Recorded, intent_id: str) -> dict:
        self._get_intent(request, intent_id)
        return self.intents[intent_id]

    def _confirm_intent(self, request: Recorded, intent_id: str):
        """What Stripe.js does with the client secret: pay the intent (a canceled one cannot be paid). A browser
        sends the publishable key and the intent's client secret in the form (as Stripe.js does) instead of a
        secret key."""
        if request.form.get("key", "").startswith("pk_"):
            intent = self.intents.get(intent_id)
            if intent is None or request.form.get("client_secret") != intent["client_secret"]:
                raise _error(404, "invalid_request_error", f"No such payment_intent: '{intent_id}'",
                             "resource_missing", param="intent")
        else:
            self._known_intent(request, intent_id)
        return 200, self.pay(intent_id)

    def _stripe_js(self, request: Recorded):
        """A stand-in for Stripe.js v3 (`<script src="<fake>/v3/">`): `Stripe(key)`, `elements({clientSecret})`,
        `create("payment").mount(el)` (a fake card field), and `confirmPayment({elements, confirmParams})`, which
        confirms the intent with this fake and goes to `return_url` with Stripe's query parameters."""
        return 200, Raw(STRIPE_JS.replace("__BASE__", self.url).encode(), "text/javascript; charset=utf-8")

    def _capture_intent(self, request: Recorded, intent_id: str):
        """Capture an intent that was confirmed with manual capture; anything else is an unexpected state."""
        intent = self._known_intent(request, intent_id)
        _expect_status(intent, "capture", ("requires_capture",))
        return 200, self._succeed(intent_id)

    def _cancel_intent(self, request: Recorded, intent_id: str):
        """Cancel an intent that has not succeeded: status `canceled`, never payable again."""
        intent = self._known_intent(request, intent_id)
        _expect_status(intent, "cancel", CANCELABLE)
        reason = _unflatten(request.form).get("cancellation_reason")
        intent.update(status="canceled", canceled_at=int(time.time()), cancellation_reason=reason)
        return 200, intent

    def _get_charge(self, request: Recorded, charge_id: str):
        self._auth(request)
        if charge_id not in self.charges:
            raise _error(404, "invalid_request_error", f"No such charge: '{charge_id}'", "resource_missing")
        return 200, self.charges[charge_id]

    def _create_refund(self, request: Recorded):
        self._auth(request)
        params = _unflatten(request.form)
        intent = self.intents.get(params.get("payment_intent", ""))
        if intent is None:
            raise _error(400, "invalid_request_error", "No such payment_intent.", "resource_missing")

        if self.refund_mode == "5xx":
            raise _error(500, "api_error", "An unknown error occurred on Stripe's side.")

        def create():
            charge = self.charges.get(intent.get("latest_charge") or "")
            if charge is None or intent["status"] != "succeeded":
                raise _error(400, "invalid_request_error", "This PaymentIntent does not have a successful "
                             "charge to refund.", "charge_not_refundable")
            amount = int(params.get("amount") or charge["amount"] - charge["amount_refunded"])
            if self.refund_mode == "rejected" or charge["amount_refunded"] >= charge["amount"]:
                raise _error(400, "invalid_request_error", f"Charge {charge['id']} has already been refunded.",
                             "charge_already_refunded")
            if amount > charge["amount"] - charge["amount_refunded"]:
                raise _error(400, "invalid_request_error", "Refund amount is greater than unrefunded amount on "
                             "charge.", "amount_too_large", param="amount")
            charge["amount_refunded"] += amount
            charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
            refund_id = "re_" + secrets.token_hex(12)
            refund = {"id": refund_id, "object": "refund", "amount": amount, "currency": charge["currency"],
                      "charge": charge["id"], "payment_intent": intent["id"], "status": "succeeded",
                      "metadata": params.get("metadata", {})}
            self.refunds[refund_id] = refund
            return 200, refund

        return self._idempotent(request, create)

    def _create_session(self, request: Recorded):
        self._auth(request)
        params = _unflatten(request.form)

        def create():
            line = params["line_items"]["0"]
            price = line["price_data"]
            amount = int(price["unit_amount"]) * int(line.get("quantity", 1))
            intent_params = {"amount": amount, "currency": price["currency"],
                             "metadata": params.get("payment_intent_data", {}).get("metadata", {})}
            intent = self._new_intent(intent_params)
            session_id = "cs_test_" + secrets.token_hex(12)
            session = {"id": session_id, "object": "checkout.session", "mode": params.get("mode"),
                       "url": f"https://checkout.stripe.com/c/pay/{session_id}", "status": "open",
                       "payment_status": "unpaid", "payment_intent": intent["id"], "amount_total": amount,
                       "currency": price["currency"], "client_reference_id": params.get("client_reference_id"),
                       "metadata": params.get("metadata", {}), "success_url": params.get("success_url"),
                       "cancel_url": params.get("cancel_url")}
            self.sessions[session_id] = session
            return 200, dict(session)

        return self._idempotent(request, create)

    def _get_session(self, request: Recorded, session_id: str):
        self._auth(request)
        if session_id not in self.sessions:
            raise _error(404, "invalid_request_error", f"No such checkout.session: '{session_id}'",
                         "resource_missing")
        return 200, self.sessions[session_id]


STRIPE_JS = """(function () {
  "use strict";
  var BASE = "__BASE__";
  window.Stripe = function (key) {
    return {
      elements: function (options) {
        return {
          clientSecret: options.clientSecret,
          create: function (kind) {
            return {
              mount: function (target) {
                var el = typeof target === "string" ? document.querySelector(target) : target;
                el.innerHTML = '<label>Card number <input name="fake-card" autocomplete="cc-number" ' +
                  'value="4242 4242 4242 4242"></label>';
                el.setAttribute("data-mounted", kind);
              }
            };
          }
        };
      },
      confirmPayment: function (args) {
        var secret = args.elements.clientSecret;
        var id = secret.split("_secret_")[0];
        var body = new URLSearchParams({key: key, client_secret: secret});
        return fetch(BASE + "/v1/payment_intents/" + id + "/confirm", {method: "POST", body: body})
          .then(function (r) { return r.json(); })
          .then(function (intent) {
            if (intent.error) { return {error: intent.error}; }
            var url = args.confirmParams.return_url;
            window.location.href = url + (url.indexOf("?") < 0 ? "?" : "&") + "payment_intent=" + id +
              "&payment_intent_client_secret=" + encodeURIComponent(secret) + "&redirect_status=" + intent.status;
            return {};
          });
      }
    };
  };
})();
"""

"""The payment provider interface: one object per gateway, its identity, settings schema and optional steps.

Declares the contract only; never talks to a provider itself. A provider implements exactly the steps it lists
in `capabilities`; the core checks them first and answers 422 `payment_step_unsupported` for any other.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, ClassVar

from core.api_schema import Schema
from core.errors import Unprocessable
from core.payments.values import ExtraCharge, PaymentCheck, RefundResult, WebhookDelivery

if TYPE_CHECKING:
    from core.models import Booking, Org


class Step(enum.StrEnum):
    """The optional steps a provider may declare in `PaymentProvider.capabilities`."""

    CREATE = "create"                    # start a payment the buyer completes (captured when completed)
    AUTHORIZE = "authorize"              # hold the amount on the buyer's method; `capture_payment` takes it later
    REDIRECT = "redirect"                # send the buyer to the provider; `handle_callback` finishes the payment
    WIDGET = "widget"                    # what a page needs to show the provider's own widget
    VERIFY = "verify"                    # ask the provider whether the booking was paid (confirm-order)
    REFUND = "refund"                    # pay a booking's whole amount back
    PARTIAL_REFUND = "partial_refund"    # pay part of it back (needs REFUND too)
    CHARGE_AGAIN = "charge_again"        # charge an extra amount on an existing, paid booking (a change fee)
    CHARGE_SAVED = "charge_saved"        # charge a method the buyer saved, with the buyer away (off-session)
    SAVE_METHOD = "save_method"          # let a buyer save a payment method for later off-session charges
    EXTRA_PAYMENT = "extra_payment"      # a payment of its own for an extra amount on a paid booking (change fee)
    VOID = "void"                        # make an open payment unpayable (dead cart); never captures
    WEBHOOK = "webhook"                  # handle the provider's signed notifications


# step -> the method that implements it (a declared step whose method is not overridden is a TypeError)
STEP_METHODS: dict[Step, tuple[str, ...]] = {
    Step.CREATE: ("create_payment",),
    Step.AUTHORIZE: ("authorize_payment", "capture_payment"),
    Step.REDIRECT: ("start_redirect", "handle_callback"),
    Step.WIDGET: ("widget_config",),
    Step.VERIFY: ("verify_payment",),
    Step.REFUND: ("refund",),
    Step.PARTIAL_REFUND: ("refund",),
    Step.CHARGE_AGAIN: ("charge_again",),
    Step.CHARGE_SAVED: ("charge_saved_method",),
    Step.SAVE_METHOD: ("start_saving_method", "saved_method"),
    Step.EXTRA_PAYMENT: ("create_extra_payment", "verify_extra_payment"),
    Step.VOID: ("void_payment",),
    Step.WEBHOOK: ("handle_webhook",),
}


class UnsupportedStep(Unprocessable):
    """422 `payment_step_unsupported`: the booking's payment provider cannot do what was asked."""

    type = "payment_step_unsupported"


class PaymentProvider:
    """A payment gateway as the core sees it. Subclass it, set the class attributes, implement your steps.

    Return instances from the `payment_gateways` hook. One instance serves every tenant: the tenant's plugin
    settings (validated by `settings_schema`) are passed to each step, so keep no per-tenant state on `self`.
    Every step runs outside the database transaction; raise `core.errors.GatewayUnavailable` (502, e.g.
    `core.payments.kit.unavailable`) when the provider fails and `core.errors.ApiError` when it refuses.
    """

    identifier: ClassVar[str] = ""
    """The gateway's id in requests (`paymentGateway`) and on bookings; letters, digits, `_` and `-`."""
    name: ClassVar[str] = ""
    """Display name for people (staff screens, checkout pages)."""
    settings_schema: ClassVar[type[Schema] | None] = None
    """Marshmallow schema of the tenant's settings for this provider; fields with `metadata={"secret": True}`
    are masked whenever settings are shown back."""
    capabilities: ClassVar[frozenset[Step]] = frozenset()
    """The steps this provider implements; every other step answers 422 `payment_step_unsupported`."""
    buyer_selectable: ClassVar[bool] = True
    """False for a method only staff may choose (the core's box-office method)."""
    settled_by_staff: ClassVar[bool] = False
    """True when the money moves outside Boxoffice and staff record it (`POST /events/bookings/{id}/mark-paid`)."""
    calls_out: ClassVar[bool] = True
    """True when a step may call a service over the network: a request sent with an `Idempotency-Key` then
    commits its work so far (a recovery point) before the call. A provider that runs in process says False."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for step in cls.capabilities:
            for method in STEP_METHODS[step]:
                if getattr(cls, method) is getattr(PaymentProvider, method):
                    raise TypeError(f"{cls.__name__} declares the {step.value!r} step but does not implement "
                                    f"{method}()")

    # --- capability checks -------------------------------------------------------------------------
    def supports(self, step: Step) -> bool:
        """True if this provider declared `step`."""
        return step in self.capabilities

    def require(self, step: Step) -> None:
        """422 `payment_step_unsupported` unless this provider declared `step`."""
        if step not in self.capabilities:
            raise UnsupportedStep(f"The {self.name or self.identifier} payment gateway cannot {_VERBS[step]}.",
                                  gateway=self.identifier, step=step.value)

    def _unsupported(self, step: Step):
        self.require(step)
        raise NotImplementedError(f"{type(self).__name__} declares {step.value!r} but does not implement it")

    # --- paying ------------------------------------------------------------------------------------
    def create_payment(self, org: Org, booking: Booking, settings: dict) -> dict:
        """Start paying `booking` (Step.CREATE): `booking.amount` minor units of `booking.currency`.

        Return a dict: ``reference`` (the provider's payment id, kept as `booking.payment_ref`),
        ``client_secret`` and/or ``approval_url`` when the buyer finishes the payment there, and ``data`` (shown
        to the client as `payment`). Must be idempotent per booking (use the booking id as idempotency key): a
        retried purchase must never create a second chargeable payment.
        """
        return self._unsupported(Step.CREATE)

    def authorize_payment(self, org: Org, booking: Booking, settings: dict) -> dict:
        """Like `create_payment`, but the buyer's approval only reserves the money (Step.AUTHORIZE)."""
        return self._unsupported(Step.AUTHORIZE)

    def capture_payment(self, org: Org, booking: Booking, payment_ref: str, amount: int,
                        settings: dict) -> PaymentCheck:
        """Take `amount` of an authorised payment (Step.AUTHORIZE); a second call must not capture again."""
        return self._unsupported(Step.AUTHORIZE)

    def start_redirect(self, org: Org, booking: Booking, settings: dict, *, return_url: str,
                       callback_url: str) -> dict:
        """Send the buyer to the provider's page (Step.REDIRECT): return ``{"url": ..., "reference": ...}``, or
        ``{"form": {"action": ..., "fields": {...}}}`` for a signed form post.

        `callback_url` is the core's URL the provider calls back: it carries no `orgid` header or token, so it
        names the tenant and booking itself and is signed; `handle_callback` receives its parameters only after
        the core checked that signature.
        """
        return self._unsupported(Step.REDIRECT)

    def handle_callback(self, org: Org, booking: Booking, settings: dict, params: dict) -> PaymentCheck:
        """The provider called back after a redirect (Step.REDIRECT): verify with the provider, never trust
        `params` about money, and say whether the booking is paid."""
        return self._unsupported(Step.REDIRECT)

    def widget_config(self, org: Org, settings: dict) -> dict:
        """What a page needs to show the provider's widget, e.g. a publishable key (Step.WIDGET). Public: never
        a secret."""
        return self._unsupported(Step.WIDGET)

    def verify_payment(self, org: Org, booking: Booking, payment_ref: str | None, settings: dict) -> PaymentCheck:
        """Whether `booking` was paid (Step.VERIFY), asked by confirm-order and webhooks. Never trust the
        client: compare the provider's amount and currency with the booking's. `payment_ref` may come from the
        client: accept only a payment of this org and booking."""
        return self._unsupported(Step.VERIFY)

    # --- money back and more money ----------------------------------------------------------------
    def refund(self, org: Org, booking: Booking, payment_ref: str | None, amount: int,
               settings: dict) -> RefundResult:
        """Pay `amount` minor units of `booking` back (Step.REFUND; less than the whole booking needs
        Step.PARTIAL_REFUND, which the core checks). Idempotent for the same booking state and amount
        (key on `booking.refunded_amount` and `amount`): a retry must never refund twice. Raise an ApiError
        (`kit.refund_rejected`) when the provider refuses."""
        return self._unsupported(Step.REFUND)

    def charge_again(self, org: Org, booking: Booking, amount: int, description: str,
                     settings: dict) -> PaymentCheck:
        """Charge `amount` more on a paid booking with the method it was paid with (Step.CHARGE_AGAIN)."""
        return self._unsupported(Step.CHARGE_AGAIN)

    def charge_saved_method(self, org: Org, booking: Booking, method_ref: str, amount: int,
                            settings: dict) -> PaymentCheck:
        """Charge a method the buyer saved earlier while the buyer is away (Step.CHARGE_SAVED): `amount` of the
        booking's currency, tagged with the org and booking like its own payment, idempotent per booking. A
        decline (or a bank asking the buyer to authenticate) is `PaymentCheck(paid=False)` with the provider's
        code in `data["declineCode"]`, never an error; the returned `reference` is what `verify_payment`
        accepts as the booking's payment."""
        return self._unsupported(Step.CHARGE_SAVED)

    def start_saving_method(self, org: Org, key: str, email: str, name: str, settings: dict) -> dict:
        """Start saving a payment method the buyer (`email`, `name`) agrees to be charged with later while away
        (Step.SAVE_METHOD, with CHARGE_SAVED). Return ``reference`` (what `saved_method` reads back) and
        ``client_secret`` (the buyer completes the saving with the provider's widget). Idempotent per `key`."""
        return self._unsupported(Step.SAVE_METHOD)

    def saved_method(self, org: Org, reference: str, settings: dict) -> str | None:
        """The method saved by `reference` as `charge_saved_method` takes it, or None while the buyer has not
        completed it (or it failed) (Step.SAVE_METHOD)."""
        return self._unsupported(Step.SAVE_METHOD)

    def create_extra_payment(self, org: Org, booking: Booking, charge: ExtraCharge, settings: dict) -> dict:
        """Start a payment of `charge.amount` minor units of `charge.currency` on the paid `booking`, which the
        buyer completes like a purchase's (Step.EXTRA_PAYMENT). Return what `create_payment` returns. Must be
        idempotent per `charge.id` (the provider's idempotency key), and the payment must name the org, the
        booking and `charge.id` (metadata), so a webhook about it reaches `kit.confirm_paid_charge`."""
        return self._unsupported(Step.EXTRA_PAYMENT)

    def verify_extra_payment(self, org: Org, booking: Booking, charge: ExtraCharge, payment_ref: str,
                             settings: dict) -> PaymentCheck:
        """Whether the payment `payment_ref` of `charge` was paid (Step.EXTRA_PAYMENT): only a payment of this
        org, booking and charge, with the provider's own amount and currency."""
        return self._unsupported(Step.EXTRA_PAYMENT)

    def void_payment(self, org: Org, booking: Booking, payment_ref: str | None, settings: dict) -> PaymentCheck:
        """Make sure nobody can still pay for `booking` (its cart is dead) (Step.VOID).

        Cancel the provider's open payment unless it already completed; never capture or charge here.
        `payment_ref` may come from the client: cancel only a payment of this org and booking. Return the
        payment as it now stands, like `verify_payment`: paid=False once nothing more can be charged, paid=True
        with the amount and currency when the buyer had already paid (the core then refunds it once). May be
        called more than once per booking. Called through the job queue when a hold expires or a pending booking
        is cancelled, and by confirm-order on a stale cart instead of `verify_payment`; a provider without VOID
        is asked `verify_payment` there, so declare VOID if your verify step captures money.
        """
        return self._unsupported(Step.VOID)

    def handle_webhook(self, org: Org, settings: dict, delivery: WebhookDelivery) -> dict:
        """A delivery to `/webhooks/<identifier>/<orgid>` (Step.WEBHOOK). Verify its signature first (400
        `invalid_signature` otherwise), re-fetch the object from the provider, then act through the kit
        (`kit.confirm_paid_booking`, `kit.record_gateway_event`). Return the `kit.WebhookAck` fields."""
        return self._unsupported(Step.WEBHOOK)


_VERBS = {
    Step.CREATE: "start a payment",
    Step.AUTHORIZE: "authorise a payment and capture it later",
    Step.REDIRECT: "send the buyer to a payment page",
    Step.WIDGET: "show a payment widget",
    Step.VERIFY: "check a payment",
    Step.REFUND: "refund",
    Step.PARTIAL_REFUND: "refund part of a payment",
    Step.CHARGE_AGAIN: "charge an existing booking again",
    Step.CHARGE_SAVED: "charge a saved payment method",
    Step.SAVE_METHOD: "save a payment method for later",
    Step.EXTRA_PAYMENT: "take a payment for an extra amount on a paid booking",
    Step.VOID: "void a payment",
    Step.WEBHOOK: "receive webhooks",
}

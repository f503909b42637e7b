"""Payments in the core: the provider interface, its value types, the core's own methods and the public kit.

Gateway plugins import from here (`core.payments`, `core.payments.kit`) and nothing private; this package
never talks to a provider itself and never changes a booking's status (the purchase engine does).
"""

from core.payments.builtin import BUILTIN_PROVIDERS, ManualPayment, ZeroTotal
from core.payments.provider import PaymentProvider, Step, UnsupportedStep
from core.payments.values import ExtraCharge, PaymentCheck, RefundResult, WebhookDelivery

__all__ = ["BUILTIN_PROVIDERS", "ExtraCharge", "ManualPayment", "PaymentCheck", "PaymentProvider", "RefundResult",
           "Step", "UnsupportedStep", "WebhookDelivery", "ZeroTotal"]

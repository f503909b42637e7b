"""Offline payments for online buyers: pay by bank transfer or at the box office, then staff mark it paid.

The booking stays pending (seats held) until staff record the payment; never confirms on its own.
"""

from __future__ import annotations

from marshmallow import fields

from core.api_schema import Schema
from core.hookspecs import hookimpl
from core.payments import ManualPayment, PaymentProvider


class OfflineSettings(Schema):
    """A tenant's offline-payment settings."""

    instructions = fields.String(metadata={"description": "what buyers are told, e.g. the bank account"})


class OfflinePayment(ManualPayment):
    """The core's box-office method, offered to online buyers too, with the tenant's payment instructions."""

    name = "Bank transfer or box office"
    settings_schema = OfflineSettings
    buyer_selectable = True

    def instructions(self, settings: dict) -> str:
        """The tenant's `instructions` setting, or a generic sentence."""
        return settings.get("instructions") or "Pay at the box office or by bank transfer."


@hookimpl
def payment_gateways() -> list[PaymentProvider]:
    """This plugin offers the `offline` method to online buyers."""
    return [OfflinePayment()]

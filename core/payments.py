"""Value types exchanged with payment gateway plugins, and the zero-decimal currency table.

Amounts are always integer minor units of the currency (cents; yen for JPY).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class PaymentCheck:
    """A gateway's verdict on whether a booking was paid."""

    paid: bool
    reference: str | None = None
    amount: int | None = None
    currency: str | None = None
    reason: str = ""
    data: dict = field(default_factory=dict)


@dataclass
class RefundResult:
    """A gateway's answer to a refund request."""

    succeeded: bool
    reference: str | None = None
    amount: int = 0
    reason: str = ""
    data: dict = field(default_factory=dict)

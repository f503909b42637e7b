"""Value types exchanged between the core and payment providers: payment verdicts, refunds, webhook deliveries.

Plain data only: never talks to a provider or the database. Amounts are integer minor units (cents; yen for JPY).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass
class PaymentCheck:
    """A provider's verdict on whether a booking was paid."""

    paid: bool
    reference: str | None = None
    amount: int | None = None
    currency: str | None = None
    reason: str = ""
    data: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ExtraCharge:
    """An amount charged on a paid booking besides its total (a ticket edit's change fee), paid as a payment of
    its own: `id` is the core's record of it (use it as the provider's idempotency key and in its metadata)."""

    id: str
    amount: int
    currency: str
    description: str


@dataclass
class RefundResult:
    """A provider's answer to a refund request."""

    succeeded: bool
    reference: str | None = None
    amount: int = 0
    reason: str = ""
    data: dict = field(default_factory=dict)
    owed: bool = False
    """True when the provider accepted the refund but moved no money: staff pay it out by hand and record it
    (`POST /events/refunds/{id}/paid-out`); the refund is kept as `owed` until then."""

    @property
    def status(self) -> str:
        """The Refund record's status for this answer: `owed`, `succeeded` or `failed`."""
        if not self.succeeded:
            return "failed"
        return "owed" if self.owed else "succeeded"


@dataclass(frozen=True)
class WebhookDelivery:
    """One webhook request as the provider sent it: the raw body (verify signatures on these bytes) and headers."""

    body: bytes
    headers: Mapping[str, str]

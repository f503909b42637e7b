"""Store credit: a buyer's credit with one tenant, as ledger rows (credit granted, amounts drawn from it).

Columns only; every rule (granting, spending at checkout, giving back, expiry) lives in
`core.services.store_credit`.
"""

from __future__ import annotations

from peewee import CharField, IntegerField, TextField

from core.models.base import DateTimeField, ForeignKeyField, JSONField
from core.models.customer import Customer
from core.models.sales import Booking, Refund
from core.models.tenant import TenantModel

DEBIT_STATES = ("held", "spent", "released")


class StoreCredit(TenantModel):
    """Credit granted to a customer (by a store-credit refund): `amount` minor units of `currency`, of which
    `remaining` is still unspent (only conditional UPDATEs change it), usable until `expires_at` (null: never).
    `refund`/`booking`: the refund that granted it and the booking it paid back."""

    customer = ForeignKeyField(Customer, column_name="customer_id", on_delete="CASCADE")
    amount = IntegerField()
    remaining = IntegerField()
    currency = CharField(max_length=3)
    expires_at = DateTimeField(null=True)
    refund = ForeignKeyField(Refund, null=True, column_name="refund_id", on_delete="SET NULL")
    booking = ForeignKeyField(Booking, null=True, column_name="booking_id", on_delete="SET NULL")
    note = TextField(default="")
    data = JSONField(default=dict)

    class Meta:
        indexes = ((("org", "customer", "currency", "expires_at"), False),)


class StoreCreditDebit(TenantModel):
    """An amount drawn from one credit for one booking: `held` while the booking is pending, `spent` once it is
    confirmed, `released` (given back to the credit) when the booking expired or was cancelled."""

    credit = ForeignKeyField(StoreCredit, column_name="credit_id", on_delete="CASCADE")
    booking = ForeignKeyField(Booking, column_name="booking_id", on_delete="CASCADE")
    amount = IntegerField()
    status = CharField(max_length=12, default="held")

    class Meta:
        indexes = ((("booking", "status"), False), (("org", "credit"), False))

"""The automation plugin's tables: webhook endpoints a tenant registered, and every delivery to them.

Columns only; `plugins.automation.service` changes them. `Endpoint.secret` signs deliveries and is shown to
the tenant once, at creation; it is never listed or logged afterwards.
"""

from __future__ import annotations

from peewee import BooleanField, CharField, DateTimeField, IntegerField, TextField

from core.models import JSONField, TenantModel
from core.models.base import ForeignKeyField

DELIVERY_STATES = ("pending", "retrying", "succeeded", "failed")


class Endpoint(TenantModel):
    """A URL that receives signed JSON events of the types it subscribed to."""

    url = CharField(max_length=2000)
    description = CharField(max_length=300, default="")
    event_types = JSONField(default=list)
    secret = CharField(max_length=100)
    active = BooleanField(default=True)

    class Meta:
        table_name = "automation_endpoint"
        indexes = ((("org", "created_at", "id"), False),)


class Delivery(TenantModel):
    """One event sent (or being sent) to one endpoint: the exact body, attempts and the last outcome."""

    endpoint = ForeignKeyField(Endpoint, backref="deliveries", column_name="endpoint_id", on_delete="CASCADE")
    event_id = CharField(max_length=64)
    event_type = CharField(max_length=40)
    body = TextField()
    status = CharField(max_length=16, default="pending")
    attempts = IntegerField(default=0)
    last_status_code = IntegerField(null=True)
    last_error = TextField(null=True)
    next_attempt_at = DateTimeField(null=True)
    delivered_at = DateTimeField(null=True)

    class Meta:
        table_name = "automation_delivery"
        indexes = ((("org", "endpoint", "created_at"), False), (("org", "created_at", "id"), False))

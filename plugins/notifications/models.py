"""The notifications plugin's send log: one row per email (queued, sent or failed), with what was sent.

Columns only; `plugins.notifications.service` changes them. The rendered body may hold a claim link, so the
staff API never returns bodies and logs never print them.
"""

from __future__ import annotations

from peewee import CharField, DateTimeField, IntegerField, TextField

from core.models import JSONField, TenantModel

MESSAGE_STATES = ("queued", "sent", "failed")


class Message(TenantModel):
    """One notification email: kind, recipient, rendered subject/bodies, delivery status and attempts."""

    kind = CharField(max_length=40)
    recipient = CharField(max_length=254)
    subject = CharField(max_length=300)
    body_text = TextField(default="")
    body_html = TextField(default="")
    context = JSONField(default=dict)
    status = CharField(max_length=16, default="queued")
    attempts = IntegerField(default=0)
    last_error = TextField(null=True)
    transport = CharField(max_length=16, null=True)
    outbox_file = TextField(null=True)
    sent_at = DateTimeField(null=True)
    resent_from = CharField(max_length=36, null=True)

    class Meta:
        table_name = "notifications_message"
        indexes = ((("org", "created_at", "id"), False), (("status", "created_at"), False))

"""The transactional outbox: what a committed state change must still cause, one row per effect.

Columns only; `core.outbox` writes the rows in the caller's write transaction and runs them after the commit.
"""

from __future__ import annotations

from peewee import CharField, IntegerField, TextField

from core.models.base import BaseModel, DateTimeField, JSONField, utcnow

OUTBOX_KINDS = ("hook", "job")


class OutboxEntry(BaseModel):
    """One side effect of a committed change: a plugin's lifecycle hook (`kind` hook, `name` the hook,
    `plugin` the plugin) or a declared background job (`kind` job, `name` the job).

    `payload` holds the call's arguments as `core.outbox_payload` encodes them. An entry is due from `due_at`;
    `dispatched_at` says when it was last handed to the queue by the sweep (null: only by its own commit);
    `leased_until` is set while a worker runs a job entry; `done_at` once it ran (or gave up: `failed`).
    """

    org_id = CharField(max_length=64, null=True)
    kind = CharField(max_length=8)
    name = CharField(max_length=200)
    plugin = CharField(max_length=100, null=True)
    payload = JSONField(default=dict)
    created_at = DateTimeField(default=utcnow)
    due_at = DateTimeField(default=utcnow)
    dispatched_at = DateTimeField(null=True)
    leased_until = DateTimeField(null=True)
    attempts = IntegerField(default=0)
    done_at = DateTimeField(null=True)
    failed = IntegerField(default=0)
    last_error = TextField(null=True)

    class Meta:
        table_name = "outbox_entry"
        indexes = ((("done_at", "due_at"), False),)

"""Model base classes: random string ids, JSON columns, UTC timestamps, the tenant `org` column.

Models hold columns and tiny derived properties only; rules live in `core.services`.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid

import peewee
from peewee import CharField, Model, TextField

from core.clock import now as clock_now
from core.db import db


def new_id() -> str:
    """A random, unguessable identifier (UUID4 text) for any record the API exposes."""
    return str(uuid.uuid4())


def utcnow() -> dt.datetime:
    """The current time as a naive UTC datetime (how every timestamp is stored): `core.clock.now`, which a test
    deployment may move."""
    return clock_now()


class DateTimeField(peewee.DateTimeField):
    """A naive-UTC timestamp; parses SQLite's ISO text with the C `fromisoformat` (peewee tries many formats)."""

    def python_value(self, value):
        if isinstance(value, dt.datetime):  # PostgreSQL's driver already made one
            return value
        if isinstance(value, str):
            try:
                return dt.datetime.fromisoformat(value)
            except ValueError:
                pass
        return super().python_value(value)


_EMPTY_JSON = {"{}": dict, "[]": list}


class JSONField(TextField):
    """A JSON document stored as text, portable across SQLite and PostgreSQL."""

    def db_value(self, value):
        return None if value is None else json.dumps(value, separators=(",", ":"), sort_keys=True)

    def python_value(self, value):
        if value is None:
            return None
        if value in _EMPTY_JSON:  # most settings/metadata columns: skip the decoder
            return _EMPTY_JSON[value]()
        return json.loads(value)


class BaseModel(Model):
    """Every model: bound to the database proxy, random text primary key."""

    id = CharField(primary_key=True, max_length=36, default=new_id)

    class Meta:
        database = db
        legacy_table_names = False


class TimestampedModel(BaseModel):
    """A model with created_at/updated_at kept in UTC."""

    created_at = DateTimeField(default=utcnow, index=False)
    updated_at = DateTimeField(default=utcnow)

    def save(self, *args, **kwargs):
        self.updated_at = utcnow()
        return super().save(*args, **kwargs)

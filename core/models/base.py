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


TENANT_FIELD = "org"  # the field (column `org_id`) that names a tenant row's tenant


def _tenant_of(instance) -> str | None:
    return instance.__data__.get(TENANT_FIELD)


class TenantForeignKeyAccessor(peewee.ForeignKeyAccessor):
    """peewee's lazy load of a related row (`ticket.event`), within the row's tenant when both are tenant rows:
    `WHERE id = ? AND org_id = ?`, so every statement names its tenant (the shard key)."""

    def get_rel_instance(self, instance):
        """The related row, loaded once (as peewee does) with the tenant in its WHERE."""
        value, org_id = instance.__data__.get(self.name), _tenant_of(instance)
        if (value is not None and org_id is not None and self.name not in instance.__rel__
                and self.field.lazy_load and TENANT_FIELD in self.rel_model._meta.fields):
            tenant = self.rel_model._meta.fields[TENANT_FIELD]
            instance.__rel__[self.name] = self.rel_model.get((self.field.rel_field == value) & (tenant == org_id))
        return super().get_rel_instance(instance)


class TenantBackrefAccessor(peewee.BackrefAccessor):
    """peewee's back-reference query (`booking.tickets`), within the row's tenant when both are tenant rows."""

    def __get__(self, instance, instance_type=None):
        query = super().__get__(instance, instance_type)
        if instance is not None and _tenant_of(instance) is not None \
                and TENANT_FIELD in self.rel_model._meta.fields:
            query = query.where(self.rel_model._meta.fields[TENANT_FIELD] == _tenant_of(instance))
        return query


class ForeignKeyField(peewee.ForeignKeyField):
    """peewee's foreign key whose lazy loads and back-references stay within the tenant of the row they start
    from (the models' foreign keys are all this one)."""

    accessor_class = TenantForeignKeyAccessor
    backref_accessor_class = TenantBackrefAccessor


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

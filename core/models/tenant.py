"""Tenants (orgs), their staff API keys, the hostnames they are served at and their per-plugin switches and
settings.

An Org is the root of tenancy: every tenant-owned row points at one. Secrets here are stored hashed or private.
"""

from __future__ import annotations

from peewee import BooleanField, CharField, IntegerField, TextField

from core.models.base import BaseModel, DateTimeField, ForeignKeyField, JSONField, TimestampedModel, utcnow
from core.roles import MEMBER_ROLES

API_KEY_SCOPES = ("read", "events", "orders", "checkin", "admin")  # what an API key may hold, in display order
API_KEY_ROLES = MEMBER_ROLES  # what an API key may be: a member role (core.roles)


class Org(BaseModel):
    """A tenant: one organiser on the deployment, addressed by the `orgid` header."""

    id = CharField(primary_key=True, max_length=64)
    name = CharField(max_length=200)
    active = BooleanField(default=True)
    timezone = CharField(max_length=64, default="UTC")
    hold_minutes = IntegerField(null=True)
    settings = JSONField(default=dict)
    signing_private_key = TextField()
    signing_public_key = TextField()
    created_at = DateTimeField(default=utcnow)


class TenantModel(TimestampedModel):
    """A row owned by one tenant; every query on it goes through `core.tenancy.scoped`."""

    org = ForeignKeyField(Org, column_name="org_id", on_delete="CASCADE")

    def reread(self):
        """This row as stored now, read by its id within its tenant (DoesNotExist if it is gone)."""
        model = type(self)
        return model.get((model.id == self.id) & (model.org == self.org_id))

    def row_condition(self):
        """`id = ? AND org_id = ?` for this row: how a conditional UPDATE or DELETE names it (with the shard key)."""
        if self.org_id is None:
            raise ValueError(f"{type(self).__name__} {self.id} was read without its org_id; select it too")
        model = type(self)
        return (model.id == self.id) & (model.org == self.org_id)

    def dependencies(self, search_nullable=True, exclude_null_children=False):
        """peewee's rows that point at this one (what `delete_instance(recursive=True)` deletes or detaches),
        each condition narrowed to this row's tenant."""
        org_id = self.__data__.get("org")
        for node, fk in super().dependencies(search_nullable, exclude_null_children):
            if org_id is not None and "org" in fk.model._meta.fields:
                node = node & (fk.model._meta.fields["org"] == org_id)
            yield node, fk

    def _pk_expr(self):
        """The row condition of `save()` and `delete_instance()` (peewee's extension point for it): the id and,
        when the row knows it, its tenant, so the UPDATE or DELETE names the shard key like every query."""
        return super()._pk_expr() if self.__data__.get("org") is None else self.row_condition()


class ApiKey(TenantModel):
    """A staff or admin API key, stored as a SHA-256 hash; sent as `Authorization: Token <key>` or exchanged for
    a JWT at POST /auth/token. `scopes`: the space-separated scopes it holds (`core.api_keys.SCOPES`)."""

    name = CharField(max_length=200)
    role = CharField(max_length=16, default="staff")
    prefix = CharField(max_length=16, index=True)
    key_hash = CharField(max_length=64, unique=True)
    scopes = CharField(max_length=64, default=" ".join(API_KEY_SCOPES))
    revoked_at = DateTimeField(null=True)
    last_used_at = DateTimeField(null=True)


class TenantDomain(TenantModel):
    """A hostname the tenant is served at (lower-case, no port, unique across the deployment): a request whose
    `Host` is one needs no `orgid` header (`core.tenancy.tenant_for_host`)."""

    hostname = CharField(max_length=253, unique=True)


class TenantPlugin(TenantModel):
    """Whether a plugin is enabled for a tenant, and that tenant's settings for it."""

    plugin = CharField(max_length=100)
    enabled = BooleanField(default=True)
    settings = JSONField(default=dict)

    class Meta:
        indexes = ((("org", "plugin"), True),)

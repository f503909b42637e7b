"""Versioned schema migrations for the core and for plugins, recorded in `schema_migrations`.

Each migration runs once, in its own transaction, in version order per component. Run by
`boxoffice db upgrade` and on first start; never call bare create_tables elsewhere.

Version 1 of a component creates its tables from the *current* models, so on a fresh database every later
migration runs right after it: write later migrations to be idempotent (`ensure_columns` helps).
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from peewee import CharField, DateTimeField, IntegerField, Model

from core.db import db, is_sqlite, write_transaction
from core.models.base import utcnow


@dataclass(frozen=True)
class Migration:
    """One schema change of a component ("core" or a plugin name), applied once in version order."""

    component: str
    version: int
    name: str
    apply: Callable[[], None]


class SchemaMigration(Model):
    """A record that one migration of one component has been applied."""

    component = CharField(max_length=100)
    version = IntegerField()
    name = CharField(max_length=200)
    applied_at = DateTimeField(default=utcnow)

    class Meta:
        database = db
        table_name = "schema_migrations"
        indexes = ((("component", "version"), True),)


def create_tables_migration(component: str, version: int, name: str, models: list) -> Migration:
    """A migration that creates the tables (and indexes) of `models`, for a plugin's first version."""

    def apply() -> None:
        db.create_tables(models, safe=True)

    return Migration(component, version, name, apply)


def ensure_columns(model, *field_names: str) -> None:
    """Add the named fields of `model` as columns when its table lacks them (idempotent, for migrations).

    A new column must be nullable or have a default, as with any ALTER TABLE ... ADD COLUMN.
    """
    from playhouse.migrate import SchemaMigrator, migrate

    table = model._meta.table_name
    existing = {column.name for column in db.get_columns(table)}
    migrator = SchemaMigrator.from_database(db.obj)
    operations = []
    for name in field_names:
        field = model._meta.fields[name]
        if field.column_name not in existing:
            operations.append(migrator.add_column(table, field.column_name, field))
    if operations:
        migrate(*operations)


PUBLIC_ID_BACKFILL_BATCH = 500


def backfill_public_ids(model) -> int:
    """Give each row of `model` without a public id an unused random one (`core.models.public_id`), in
    batches; returns how many rows got one. Rows that hold an id keep it."""
    from core.models.public_id import unused_public_ids

    done = 0
    while True:
        ids = [row[0] for row in model.select(model.id).where(model.public_id.is_null())
               .order_by(model.id).limit(PUBLIC_ID_BACKFILL_BATCH).tuples()]
        if not ids:
            return done
        for row_id, public_id in zip(ids, unused_public_ids(model, len(ids)), strict=True):
            model.update(public_id=public_id).where(model.id == row_id).execute()
        done += len(ids)


def ensure_public_ids(model) -> None:
    """Add `model`'s `public_id` column where missing, backfill it and create its unique index (idempotent,
    for migrations; the model declares `public_id = PublicIdField()`)."""
    from playhouse.migrate import SchemaMigrator, migrate

    ensure_columns(model, "public_id")
    backfill_public_ids(model)
    table = model._meta.table_name
    if f"{table}_public_id" not in {index.name for index in db.get_indexes(table)}:
        migrate(SchemaMigrator.from_database(db.obj).add_index(table, ("public_id",), unique=True))


def core_migrations() -> list[Migration]:
    """The core's migrations: every `core/migrations/mNNNN_name.py` module, in version order."""
    found = []
    for info in pkgutil.iter_modules(__path__):
        match = re.fullmatch(r"m(\d{4})_(\w+)", info.name)
        if match:
            module = importlib.import_module(f"{__name__}.{info.name}")
            found.append(Migration("core", int(match.group(1)), match.group(2), module.upgrade))
    return sorted(found, key=lambda m: m.version)


def applied_versions() -> set[tuple[str, int]]:
    """The (component, version) pairs already applied."""
    db.create_tables([SchemaMigration], safe=True)
    return recorded_versions()


def recorded_versions() -> set[tuple[str, int]]:
    """The (component, version) pairs recorded as applied, read only (none when the record table is missing)."""
    if not db.table_exists(SchemaMigration._meta.table_name):
        return set()
    return {(row.component, row.version) for row in SchemaMigration.select()}


def pending(migrations: Iterable[Migration]) -> list[Migration]:
    """The migrations of `migrations` not applied yet, core first, then by component and version."""
    return not_applied(migrations, applied_versions())


def not_applied(migrations: Iterable[Migration], done: set[tuple[str, int]]) -> list[Migration]:
    """The migrations of `migrations` missing from `done`, core first, then by component and version."""
    todo = [m for m in migrations if (m.component, m.version) not in done]
    return sorted(todo, key=lambda m: (m.component != "core", m.component, m.version))


def upgrade(migrations: Iterable[Migration], progress: Callable[[Migration], None] | None = None) -> list:
    """Apply every pending migration; returns what was applied. Safe to run from several processes."""
    applied = []
    for migration in pending(list(migrations)):
        with write_transaction():
            if not is_sqlite():
                db.execute_sql("SELECT pg_advisory_xact_lock(7240917)")
            exists = SchemaMigration.select().where(
                (SchemaMigration.component == migration.component)
                & (SchemaMigration.version == migration.version)
            ).exists()
            if exists:
                continue
            migration.apply()
            SchemaMigration.create(component=migration.component, version=migration.version,
                                   name=migration.name)
        applied.append(migration)
        if progress:
            progress(migration)
    return applied

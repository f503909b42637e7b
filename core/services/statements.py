"""Compiled statements for the services' hot paths: peewee builds a query's SQL once per shape with named
`Slot` placeholders, later calls only bind values (peewee spends ~0.2 ms of Python building one INSERT).

Services only (never imported by `core/api`); public peewee API only; inserts stamp `created_at`/`updated_at`
as `save()` does. A compiled query is only as general as its shape: callers key it by what changes the SQL.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass

import peewee

from core.db import db, execute_numbered, is_sqlite
from core.models import utcnow
from core.models.public_id import fill_public_ids

_PLACEHOLDER = re.compile(r"%%|%s")  # peewee's placeholders for psycopg, and an escaped percent sign


class Slot(str):
    """A named placeholder; a `str` so peewee's field adapters pass it through untouched."""

    __slots__ = ()


def raw_slot(name: str) -> peewee.Value:
    """A Slot that peewee must not convert (for fields whose adapter would, e.g. integers and JSON)."""
    return peewee.Value(Slot(name), converter=False, unpack=False)


def _bind(template: tuple, values: dict) -> list:
    """`template` with each Slot replaced by its value in `values`."""
    return [values[p] if isinstance(p, Slot) else p for p in template]


@dataclass(frozen=True)
class CompiledQuery:
    """SQL text and its parameter template (constants, or Slots to fill at run time)."""

    sql: str
    template: tuple

    def params(self, values: dict) -> list:
        """The parameter list for `values` (every Slot name must be given), in the order of `sql`'s `%s`."""
        return _bind(self.template, values)

    @functools.cached_property
    def numbered(self) -> tuple[str, tuple]:
        """The PostgreSQL text with `$1, $2, ...` placeholders and its parameter plan, in number order.

        One number per distinct Slot name, so a value the statement uses in several places (the tenant, the
        time, an id) is sent and converted once: the one-statement scan binds about 10 values instead of 55.
        Each constant keeps its own number. psycopg sends the text as it is: its own `%s` conversion is cached
        only for statements under 4 kB and 50 parameters, and re-parsing a longer one cost ~0.5 ms a run."""
        plan: list = []
        numbers: dict[str, int] = {}
        template = iter(self.template)

        def number(param) -> int:
            if not isinstance(param, Slot):
                plan.append(param)
                return len(plan)
            if param not in numbers:
                plan.append(param)
                numbers[param] = len(plan)
            return numbers[param]

        sql = _PLACEHOLDER.sub(lambda m: "%" if m.group() == "%%" else f"${number(next(template))}", self.sql)
        return sql, tuple(plan)

    def execute(self, values: dict):
        """Run it with `values` (Slot name -> value) and return the cursor."""
        if is_sqlite():
            return db.execute_sql(self.sql, self.params(values))
        sql, plan = self.numbered
        return execute_numbered(sql, _bind(plan, values))

    def tuples(self, **values) -> list[tuple]:
        """Run it and return the raw rows."""
        return self.execute(values).fetchall()

    def run(self, **values) -> int:
        """Run it (an UPDATE or DELETE) and return how many rows it changed."""
        return self.execute(values).rowcount

    def rows(self, model, fields: tuple | None = None, **values) -> list:
        """Run it and build `model` instances from the rows; the query selects `fields` (default: all the
        model's fields, in order). Fields not selected read as None."""
        build = row_builder(model, fields or tuple(model._meta.sorted_fields))
        return [build(row) for row in self.tuples(**values)]


_DRIVER_NATIVE = (peewee.CharField, peewee.TextField, peewee.FixedCharField, peewee.IntegerField)


def _needs_conversion(field) -> bool:
    """False when the driver already returns the field's Python value (text and integer columns)."""
    if isinstance(field, peewee.ForeignKeyField):
        return _needs_conversion(field.rel_field)
    plain = type(field).python_value is peewee.Field.python_value
    return not (plain and isinstance(field, _DRIVER_NATIVE))


@functools.lru_cache(maxsize=256)
def row_builder(model, fields: tuple) -> Callable[[tuple], peewee.Model]:
    """A function turning a row of `fields` columns into a `model` instance, as peewee's own row reader
    does (no defaults computed) but converting only the columns that need it."""
    names = tuple(f.name for f in fields)
    conversions = tuple((f.name, f.python_value) for f in fields if _needs_conversion(f))

    def build(row: tuple) -> peewee.Model:
        data = dict(zip(names, row, strict=True))
        for name, convert in conversions:
            value = data[name]
            if value is not None:
                data[name] = convert(value)
        return loaded(model, data)

    return build


@functools.cache
def _whole_row_builder(model) -> Callable[[tuple], peewee.Model]:
    return row_builder(model, tuple(model._meta.sorted_fields))


def instance(model, fields, values):
    """A `model` instance from column values in `fields` order (no defaults computed)."""
    if fields is model._meta.sorted_fields:
        return _whole_row_builder(model)(values)
    return row_builder(model, tuple(fields))(values)


def loaded(model, data: dict) -> peewee.Model:
    """A `model` instance holding `data` (field name -> Python value) as a row already stored (no defaults
    computed)."""
    return model(__no_default__=True, **data)


def compile_query(query) -> CompiledQuery:
    """Generate the SQL of a peewee query built with Slots in place of the values that vary."""
    sql, params = query.sql()
    return CompiledQuery(sql, tuple(params))


_INSERT_BATCH = 100


@dataclass(frozen=True)
class Upsert:
    """What `insert_rows` does with a row whose `target` columns (a unique index) are taken: `update()` gives
    the SET of an `ON CONFLICT (target) DO UPDATE` (peewee expressions, `EXCLUDED` for the row sent), and each
    row written or updated is returned as its `returning` fields (`RETURNING`; SQLite 3.35+)."""

    target: tuple[str, ...]
    update: Callable[[], dict]
    returning: tuple[str, ...]


@functools.lru_cache(maxsize=256)
def _insert_sql(model, count: int, sqlite: bool, upsert: Upsert | None = None) -> CompiledQuery:
    fields = model._meta.sorted_fields
    rows = [{f: raw_slot(f"{f.name}_{i}") for f in fields} for i in range(count)]
    query = model.insert_many(rows)
    if upsert is not None:
        named = model._meta.fields
        query = query.on_conflict(conflict_target=[named[name] for name in upsert.target], update=upsert.update())
        query = query.returning(*(named[name] for name in upsert.returning))
    return compile_query(query)


def _field_default(field):
    default = field.default
    return default() if callable(default) else default


def _stamp(model, row: dict, now) -> None:
    """Give `row` the timestamps an INSERT through `save()` writes: `created_at` and `updated_at` now, unless
    the caller set them."""
    for name in ("created_at", "updated_at"):
        if name in model._meta.fields and row.get(name) is None:
            row[name] = now


def insert_rows(model, rows: list[dict], *, upsert: Upsert | None = None) -> list[tuple]:
    """INSERT `rows` (field name -> Python value; a field left out takes its default, as in peewee), with SQL
    compiled once per model and batch size. Missing `created_at`/`updated_at` are stamped now, a missing
    `public_id` (`core.models.public_id`) is drawn unused, in the
    caller's dicts too (so instances built from them match the stored rows). Ids are made by the caller.
    With `upsert`, a row whose unique key is taken updates the stored row instead (atomic on PostgreSQL: a
    concurrent insert of the same key is waited for, then updated), and the rows written or updated are
    returned as `upsert.returning` tuples; without it, [] is returned."""
    fields = model._meta.sorted_fields
    now = utcnow()
    returned: list[tuple] = []
    for start in range(0, len(rows), _INSERT_BATCH):
        batch = rows[start:start + _INSERT_BATCH]
        fill_public_ids(model, batch)
        values = {}
        for i, row in enumerate(batch):
            _stamp(model, row, now)
            for f in fields:
                values[f"{f.name}_{i}"] = f.db_value(row[f.name] if f.name in row else _field_default(f))
        cursor = _insert_sql(model, len(batch), is_sqlite(), upsert).execute(values)
        if upsert is not None:
            returned += cursor.fetchall()
    return returned


@functools.lru_cache(maxsize=128)
def _update_sql(model, names: tuple[str, ...], guards: tuple[str, ...], sqlite: bool) -> CompiledQuery:
    fields = model._meta.fields
    condition = model.id == raw_slot("where id")
    for name in guards:
        condition &= fields[name] == raw_slot(f"where {name}")
    return compile_query(model.update({fields[name]: raw_slot(name) for name in names}).where(condition))


def update_row(model, row_id: str, values: dict, **guards) -> int:
    """UPDATE the row `row_id` to `values` (field name -> Python value; `updated_at` stamped now unless given,
    as `save()` does) only while each field named in `guards` still holds the value given; returns the
    number of rows changed (0 or 1). SQL compiled once per model and set of field names."""
    fields = model._meta.fields
    if "updated_at" in fields and values.get("updated_at") is None:
        values = {**values, "updated_at": utcnow()}
    params = {name: fields[name].db_value(value) for name, value in values.items()}
    params.update({f"where {name}": fields[name].db_value(value) for name, value in guards.items()})
    params["where id"] = row_id
    return _update_sql(model, tuple(sorted(values)), tuple(sorted(guards)), is_sqlite()).run(**params)

"""Queries compiled once per shape: peewee builds the SQL with named `Slot` placeholders, later calls only
bind values. For hot read paths where building the SQL costs more than running it.

A compiled query is only as general as its shape: callers key the cache by everything that changes the SQL.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.db import db


class Slot(str):
    """A named placeholder; a `str` so peewee's field adapters pass it through untouched."""

    __slots__ = ()


@dataclass(frozen=True)
class CompiledQuery:
    """SQL text and its parameter template (constants, or Slots to fill at run time)."""

    sql: str
    template: tuple

    def params(self, values: dict) -> list:
        """The parameter list for `values` (every Slot name must be given)."""
        return [values[p] if isinstance(p, Slot) else p for p in self.template]

    def tuples(self, **values) -> list[tuple]:
        """Run it and return the raw rows."""
        return db.execute_sql(self.sql, self.params(values)).fetchall()

    def rows(self, model, **values) -> list:
        """Run it and build `model` instances from the rows (the query must select the model's fields)."""
        fields = model._meta.sorted_fields
        return [instance(model, fields, row) for row in self.tuples(**values)]


def instance(model, fields, values):
    """A `model` instance from column values in `fields` order (no defaults computed, nothing marked dirty)."""
    return model(__no_default__=True, **{f.name: f.python_value(v) for f, v in zip(fields, values, strict=True)})


def compile_query(query) -> CompiledQuery:
    """Generate the SQL of a peewee query built with Slots in place of the values that vary."""
    sql, params = query.sql()
    return CompiledQuery(sql, tuple(params))

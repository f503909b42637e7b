"""The base class of every marshmallow schema: each integer field is bounded by the column that stores it.

Only declares how fields are bound; never reads the database, the request or the configuration.
"""

from __future__ import annotations

from marshmallow import Schema as MarshmallowSchema
from marshmallow import fields, validate

INT32 = (-(2**31), 2**31 - 1)  # peewee IntegerField: INTEGER on PostgreSQL
INT64 = (-(2**63), 2**63 - 1)  # peewee BigIntegerField: BIGINT; declare `metadata={"column": "bigint"}`


def _declared_bounds(field: fields.Integer) -> tuple[bool, bool]:
    """Whether the field's own Range validators already set a minimum and a maximum."""
    ranges = [v for v in field.validators if isinstance(v, validate.Range)]
    return any(r.min is not None for r in ranges), any(r.max is not None for r in ranges)


def bound_integer(field: fields.Field) -> None:
    """Give an Integer field the range of its column (32-bit unless its metadata says `bigint`) for
    whichever bound its own validators leave open, so an out-of-range number is a 422, not a 500."""
    if not isinstance(field, fields.Integer):
        return
    has_min, has_max = _declared_bounds(field)
    if has_min and has_max:
        return
    low, high = INT64 if field.metadata.get("column") == "bigint" else INT32
    field.validators.append(validate.Range(min=None if has_min else low, max=None if has_max else high))


class Schema(MarshmallowSchema):
    """A marshmallow Schema whose integer fields (and lists of integers) never exceed their column."""

    def on_bind_field(self, field_name: str, field_obj: fields.Field) -> None:
        """marshmallow hook: bound each integer field once per schema instance (fields are copies)."""
        bound_integer(field_obj)
        inner = getattr(field_obj, "inner", None) or getattr(field_obj, "value_field", None)
        if inner is not None:
            bound_integer(inner)

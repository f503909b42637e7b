"""003's numeric ids: declarative maps of which field of a body or an answer holds the id of which model,
the body schemas derived from the core's with those fields made numeric, and the translations both ways.

Knows no rule of the core: a body field becomes numeric only where the core's own schema takes a UUID (a
String), so what the core refuses stays refused with the core's message. Never queries once per id: one lookup
per table for a whole body or answer (`core.kits.public_ids`).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass

from marshmallow import fields, validate

import core.models
from core.errors import Unprocessable
from core.kits.public_ids import PUBLIC_ID_MODELS, public_ids_for, uuids_for
from core.models import Org
from core.models.public_id import PUBLIC_ID_LIMIT

# --- the body map ------------------------------------------------------------------------------------------
# Body field -> the core model (by name in `core.models`) whose numeric id it holds, or a nested map for a
# nested object / list of objects. An entry is live when the core's schema has the field as a UUID (a String
# or a list of Strings) and the model has a public id (`PUBLIC_ID_MODELS`); until then the core's own field
# stays as it is (the core refuses what it does not build). A new relationship is one line here.

PICKUP = {"id": "TicketTypePickup", "pickup_type_id": "PickupType"}
REGISTRATION_TYPE = {"id": "TicketType", "ticket_type_id": "TicketConfiguration", "list_id": "EventList",
                     "pickups": PICKUP}
EVENT_TAXONOMY = {"calendar_id": "Calendar", "category_ids": "Category", "tag_ids": "Tag",
                  "campaign_ids": "Campaign"}
SESSION = {"id": "Event", "venue_id": "Venue", "registration_types": REGISTRATION_TYPE}
EVENT_BODY = {
    "venue_id": "Venue",
    "setting_id": "EventSetting",
    **EVENT_TAXONOMY,
    "registration_types": REGISTRATION_TYPE,
    "passes": REGISTRATION_TYPE,
    "sessions": SESSION,
    "recurrences": {"id": "Recurrence"},
}


def resolve(id_map: dict, memo: dict | None = None) -> dict:
    """The live part of a map (of an answer: no schema to consult): each model name resolved to its model
    when it has a public id, left out when not; a map nested in itself (sessions of events) stays so."""
    memo = {} if memo is None else memo
    if id(id_map) not in memo:
        live = memo[id(id_map)] = {}
        for name, target in id_map.items():
            if isinstance(target, dict):
                live[name] = resolve(target, memo)
            elif public_model(target) is not None:
                live[name] = public_model(target)
    return memo[id(id_map)]


def public_id_field(**kwargs) -> fields.Integer:
    """A numeric id: an integer in [1, 2^53)."""
    kwargs.setdefault("metadata", {})
    kwargs["metadata"] = {**kwargs["metadata"], "column": "bigint"}
    return fields.Integer(validate=validate.Range(min=1, max=PUBLIC_ID_LIMIT - 1), **kwargs)


def public_model(name: str):
    """The core model called `name` when it has a numeric public id, else None (not built yet)."""
    model = getattr(core.models, name, None)
    return model if model in PUBLIC_ID_MODELS else None


# --- deriving the body schemas ----------------------------------------------------------------------------


def _numeric(field: fields.Field) -> fields.Field | None:
    """`field` (a UUID String, or a list of them) as the same field taking numeric ids; None for any other."""
    keep = {"required": field.required, "allow_none": field.allow_none, "data_key": field.data_key,
            "metadata": {**field.metadata, "description": "A numeric id (003)."}}
    if type(field) is fields.String:
        return public_id_field(**keep)
    if isinstance(field, fields.List) and type(field.inner) is fields.String:
        return fields.List(public_id_field(), validate=field.validators, **keep)
    return None


def _nested(field: fields.Field):
    """The Nested field inside `field` (itself, or a List's items), or None."""
    inner = field.inner if isinstance(field, fields.List) else field
    return inner if isinstance(inner, fields.Nested) and isinstance(inner.nested, type) else None


def _with_nested(field: fields.Field, schema: type) -> fields.Field:
    """A copy of `field` (a Nested, or a List of one) nesting `schema`; the core's field is left as it is."""
    replaced = copy.copy(field)
    if isinstance(field, fields.List):
        replaced.inner = copy.copy(field.inner)
        replaced.inner.nested = schema
    else:
        replaced.nested = schema
    return replaced


@dataclass(frozen=True)
class Derived:
    """A core body schema with numeric ids, and the live part of the map it was derived with."""

    schema: type
    live: dict


_DERIVED: dict[tuple[type, int], Derived] = {}


def numeric_schema(core_schema: type, id_map: dict) -> Derived:
    """`core_schema` (a marshmallow Schema class) with every live id field of `id_map` numeric, nested too.
    Built once per (schema, map): the OpenAPI document names each derived schema once."""
    key = (core_schema, id(id_map))
    if key not in _DERIVED:
        overrides, live = {}, {}
        for name, target in id_map.items():
            field = core_schema._declared_fields.get(name)
            if field is None:
                continue
            if isinstance(target, dict):
                nested = _nested(field)
                derived = numeric_schema(nested.nested, target) if nested else None
                if derived is None or not derived.live:
                    continue
                overrides[name], live[name] = _with_nested(field, derived.schema), derived.live
            elif public_model(target) is not None and (numeric := _numeric(field)) is not None:
                overrides[name], live[name] = numeric, public_model(target)
        name = core_schema.__name__.removesuffix("Schema") + "V2"
        _DERIVED[key] = Derived(type(name, (core_schema,), overrides) if overrides else core_schema, live)
    return _DERIVED[key]


# --- translating ids -------------------------------------------------------------------------------------------


@dataclass
class Slot:
    """One id in a parsed body: where it is (003's dotted path), its container and key, its model."""

    path: str
    holder: dict | list
    key: str | int
    model: type


def _slots(data, live: dict, path: str = "") -> Iterator[Slot]:
    if isinstance(data, list):
        for index, item in enumerate(data):
            yield from _slots(item, live, f"{path}[{index}]")
        return
    if not isinstance(data, dict):
        return
    for name, target in live.items():
        value, where = data.get(name), f"{path}.{name}".lstrip(".")
        if value is None:
            continue
        if isinstance(target, dict):
            yield from _slots(value, target, where)
        elif isinstance(value, list):
            yield from (Slot(f"{where}[{i}]", value, i, target) for i in range(len(value)))
        else:
            yield Slot(where, data, name, target)


def to_uuids(org: Org, data: dict, derived: Derived) -> dict:
    """`data` (parsed with `derived.schema`) with each numeric id replaced by its record's UUID, one lookup per
    table; an id no record of this tenant has is 422 `unknown_ids` naming each field (003's paths)."""
    slots = list(_slots(data, derived.live))
    found: dict[type, dict[int, str]] = {}
    for model in {slot.model for slot in slots}:
        found[model] = uuids_for(model, org, [slot.holder[slot.key] for slot in slots if slot.model is model])
    unknown = {slot.path: [f"no record of this organisation has id {slot.holder[slot.key]}"]
               for slot in slots if slot.holder[slot.key] not in found[slot.model]}
    if unknown:
        raise Unprocessable("Some ids name no record of this organisation; see `errors`.", type="unknown_ids",
                            errors=unknown)
    for slot in slots:
        slot.holder[slot.key] = found[slot.model][slot.holder[slot.key]]
    return data


def to_public_ids(org: Org, data, live: dict):
    """`data` (a core view, or a list of them) with each UUID that `live` (see `resolve`) names replaced by
    its record's numeric id, one lookup per table."""
    slots = list(_slots(data, live))
    found = {model: public_ids_for(model, org, [slot.holder[slot.key] for slot in slots if slot.model is model])
             for model in {slot.model for slot in slots}}
    for slot in slots:
        slot.holder[slot.key] = found[slot.model].get(slot.holder[slot.key])
    return data

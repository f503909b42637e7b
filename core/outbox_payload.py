"""How an outbox entry keeps a call's arguments: JSON that decodes back to the values the caller passed.

A model instance is kept as a snapshot of its columns (the state the committed change left it in, even if
the row is deleted later) and comes back as an instance of its class, except the tables in `BY_REFERENCE`
(an org row holds the tenant's private signing key), kept as their id and read again when the entry runs;
datetimes, dates and decimals keep their types; an argument named in `SECRET_ARGUMENTS` (a transfer's claim
token, a customer's account link token) is sealed under the deployment key (`core.sealed`) and never stored in
clear.
"""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

from peewee import Model

from core.sealed import seal, unseal

SECRET_ARGUMENTS = frozenset({"claim_token", "invite_token", "link_token"})
BY_REFERENCE = frozenset({"org"})


def _model_classes() -> dict[str, type[Model]]:
    found: dict[str, type[Model]] = {}
    pending = list(Model.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        table = getattr(cls._meta, "table_name", None)
        if table:
            found.setdefault(table, cls)
    return found


def encode_value(value: Any) -> Any:
    """`value` as JSON-ready data that `decode_value` turns back into it."""
    if isinstance(value, Model) and value._meta.table_name in BY_REFERENCE:
        return {"$ref": value._meta.table_name, "id": value.get_id()}
    if isinstance(value, Model):
        return {"$model": value._meta.table_name,
                "row": {name: encode_value(v) for name, v in value.__data__.items()}}
    if isinstance(value, dt.datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    if isinstance(value, decimal.Decimal):
        return {"$decimal": str(value)}
    if isinstance(value, (list, tuple)):
        return [encode_value(v) for v in value]
    if isinstance(value, dict):
        return {"$dict": {str(k): encode_value(v) for k, v in value.items()}}
    return value


def decode_value(data: Any) -> Any:
    """The value `encode_value` encoded (a model comes back as an unsaved-looking instance of its class)."""
    if isinstance(data, list):
        return [decode_value(v) for v in data]
    if not isinstance(data, dict):
        return data
    if "$ref" in data:
        return _model_classes()[data["$ref"]].get_by_id(data["id"])
    if "$model" in data:
        cls = _model_classes()[data["$model"]]
        instance = cls(**{name: decode_value(v) for name, v in data["row"].items()})
        instance._dirty.clear()
        return instance
    if "$datetime" in data:
        return dt.datetime.fromisoformat(data["$datetime"])
    if "$date" in data:
        return dt.date.fromisoformat(data["$date"])
    if "$decimal" in data:
        return decimal.Decimal(data["$decimal"])
    return {k: decode_value(v) for k, v in data["$dict"].items()}


def encode_arguments(arguments: dict[str, Any]) -> dict[str, Any]:
    """A call's keyword arguments as outbox payload (secrets sealed)."""
    return {name: {"$sealed": seal(value)} if name in SECRET_ARGUMENTS and isinstance(value, str)
            else encode_value(value) for name, value in arguments.items()}


def decode_arguments(payload: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments `encode_arguments` stored (secrets unsealed; None if the key changed)."""
    return {name: unseal(value["$sealed"]) if isinstance(value, dict) and "$sealed" in value
            else decode_value(value) for name, value in payload.items()}

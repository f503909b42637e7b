"""The flask-smorest Api and Blueprint every Boxoffice API module (and plugin) builds its routes on.

The Api is the library's with two changes: the error schema it documents on every operation is ours
(`core.errors.ErrorSchema`, the envelope with `type`), so the spec says what error answers carry; and a
Decimal field's bounds and default are written as JSON numbers (apispec serialises them with the field,
and JSON writes a Decimal as a string: `"minimum": "0"` is not a valid OpenAPI document).

The Blueprint is the library's with parsed query strings remembered: parsing a query string against a
marshmallow schema is a pure function of the two, and on hot lists (the customer event list) it cost more
than the database query, so each (schema, query string) pair is parsed once per process (up to a bound)
and later requests get a copy of the result. Bodies, headers and invalid query strings are parsed every
time. `plugin_blueprint` is the same Blueprint closed to tenants that have not enabled the plugin.
"""

from __future__ import annotations

from decimal import Decimal

import flask_smorest
import marshmallow as ma
from flask import g
from webargs.flaskparser import FlaskParser

from core.errors import ErrorSchema, NotFound
from core.memo import BoundedMemo
from core.plugins import get_host
from core.request_id import RequestIdHeaderPlugin

QUERY_LOCATIONS = ("query", "querystring")


class QueryCachingParser(FlaskParser):
    """webargs' Flask parser that remembers up to `limit` parsed query strings per process."""

    def __init__(self, *args, limit: int = 2048, **kwargs):
        super().__init__(*args, **kwargs)
        self._parsed = BoundedMemo(limit)

    def parse(self, argmap, req=None, *, location=None, **kwargs):
        """Parse like webargs; a query string already parsed against the same schema is not parsed again."""
        if location not in QUERY_LOCATIONS or not isinstance(argmap, ma.Schema | type):
            return super().parse(argmap, req, location=location, **kwargs)
        req = req if req is not None else self.get_default_request()
        key = (argmap, location, kwargs.get("unknown"), req.query_string)
        parsed = self._parsed.get(key)
        if parsed is None:
            parsed = super().parse(argmap, req, location=location, **kwargs)
            if not isinstance(parsed, dict):
                return parsed
            self._parsed.put(key, parsed)
        return _copy(parsed)


def _copy(parsed: dict) -> dict:
    """A copy the view may change freely (lists and dicts inside are copied too)."""
    return {k: (_copy(v) if isinstance(v, dict) else list(v) if isinstance(v, list) else v)
            for k, v in parsed.items()}


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's Blueprint with the query-caching argument parser."""

    ARGUMENTS_PARSER = QueryCachingParser()

    def error_responses(self, descriptions: dict[int, str]):
        """Document error answers of a view (each the error envelope) with what the status means there."""
        def decorator(func):
            for status, description in descriptions.items():
                func = self.alt_response(status, schema=ErrorSchema, description=description)(func)
            return func
        return decorator


def plugin_blueprint(plugin_name: str, name: str, import_name: str, **kwargs) -> Blueprint:
    """A Blueprint for a plugin's routes: they answer 404 `plugin_not_enabled` for tenants without the plugin."""
    blp = Blueprint(name, import_name, **kwargs)

    @blp.before_request
    def _require_plugin_enabled():
        org = getattr(g, "org", None)
        if org is None or not get_host().is_enabled(org.id, plugin_name):
            raise NotFound(f"The {plugin_name!r} plugin is not enabled for this organisation.",
                           type="plugin_not_enabled")

    return blp


class Api(flask_smorest.Api):
    """flask-smorest's Api documenting Boxoffice's error envelope as every operation's error response and the
    `X-Request-ID` header on every response."""

    ERROR_SCHEMA = ErrorSchema

    def __init__(self, app=None, *, spec_kwargs: dict | None = None, **kwargs):
        """flask-smorest's Api, its spec also documenting the `X-Request-ID` header of every response."""
        spec_kwargs = dict(spec_kwargs or {})
        spec_kwargs["extra_plugins"] = [*spec_kwargs.get("extra_plugins", ()), RequestIdHeaderPlugin()]
        super().__init__(app, spec_kwargs=spec_kwargs, **kwargs)

    def init_app(self, app, *args, **kwargs) -> None:
        """Set up like flask-smorest, then document Decimal bounds and defaults as numbers."""
        super().init_app(app, *args, **kwargs)
        self.ma_plugin.converter.add_attribute_function(decimal_values_as_numbers)


NUMBER_ATTRIBUTES = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "default")


def decimal_values_as_numbers(converter, field: ma.fields.Field, ret: dict, **kwargs) -> dict:
    """apispec attribute function: a Decimal field's bounds and default as JSON numbers, not strings."""
    if not isinstance(field, ma.fields.Decimal):
        return {}
    return {name: _number(ret[name]) for name in NUMBER_ATTRIBUTES
            if isinstance(ret.get(name), str | Decimal) and not isinstance(ret.get(name), bool)}


def _number(value: str | Decimal) -> int | float:
    number = Decimal(str(value))
    return int(number) if number == number.to_integral_value() else float(number)

"""The flask-smorest Blueprint every Boxoffice API module (and plugin) builds its routes on.

It is the library's Blueprint with one change: parsed query strings are remembered. Parsing a query string
against a marshmallow schema is a pure function of the two, and on hot lists (the customer event list)
it cost more than the database query, so each (schema, query string) pair is parsed once per process (up
to a bound) and later requests get a copy of the result. Bodies, headers and invalid query strings are
parsed every time. `plugin_blueprint` is the same Blueprint closed to tenants that have not enabled the plugin.
"""

from __future__ import annotations

import flask_smorest
import marshmallow as ma
from flask import g
from webargs.flaskparser import FlaskParser

from core.errors import NotFound
from core.memo import BoundedMemo
from core.plugins import get_host

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

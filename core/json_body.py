"""Cheap checks on a raw JSON request body before anything parses it: nesting depth and lone surrogates.

Scans bytes only (the parsed body is walked solely when a surrogate escape is present); never reads a request.
"""

from __future__ import annotations

import json
import re

MAX_JSON_DEPTH = 32  # arrays and objects inside each other; far above any documented body
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(rb"[\[\]{}]")
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_OPENERS = (b"[", b"{")


def too_deep(body: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when arrays/objects nest deeper than `limit` (brackets inside strings do not count).

    A body with at most `limit` opening brackets cannot be deeper, so most bodies cost two C-level counts."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    depth = 0
    for bracket in _BRACKET.findall(_STRING.sub(b'""', body)):
        depth += 1 if bracket in _OPENERS else -1
        if depth > limit:
            return True
    return False


def _is_lone_surrogate(text: str) -> bool:
    return any("\ud800" <= char <= "\udfff" for char in text)


def _surrogate_errors(value, message: str) -> dict | list | None:
    """The marshmallow-shaped error tree naming every key or string that holds a lone surrogate."""
    if isinstance(value, str):
        return [message] if _is_lone_surrogate(value) else None
    if isinstance(value, dict):
        found = {}
        for key, item in value.items():
            error = [message] if _is_lone_surrogate(key) else _surrogate_errors(item, message)
            if error:
                found[key] = error
        return found or None
    if isinstance(value, list):
        found = {index: error for index, item in enumerate(value) if (error := _surrogate_errors(item, message))}
        return found or None
    return None


def lone_surrogates(body: bytes, message: str) -> dict | list | None:
    """Where the body's strings hold an unpaired UTF-16 surrogate (`"\\ud800"`), which no database column
    can store, as an error tree per field; None when there is none or the body is not valid JSON."""
    if not _SURROGATE_ESCAPE.search(body):
        return None
    try:
        parsed = json.loads(body)
    except ValueError:
        return None  # the schema's own JSON loading answers invalid_json
    return _surrogate_errors(parsed, message)

"""The Blueprint's query parser remembers parsed query strings: same answers, fresh copies, errors every time."""

from __future__ import annotations

import pytest
from marshmallow import Schema, fields, validate
from werkzeug.exceptions import UnprocessableEntity

from core.api.blueprint import QueryCachingParser


class _Query(Schema):
    size = fields.Integer(data_key="page[size]", validate=validate.Range(min=1, max=200))
    tags = fields.List(fields.String(), data_key="tag")


def test_a_query_string_is_parsed_once_and_each_caller_gets_its_own_copy(app):
    parser, schema = QueryCachingParser(limit=4), _Query()
    with app.test_request_context("/x?page[size]=20&tag=a&tag=b"):
        first = parser.parse(schema, location="query")
        first["tags"].append("mutated")
        first["size"] = 1
    with app.test_request_context("/x?page[size]=20&tag=a&tag=b"):
        assert parser.parse(schema, location="query") == {"size": 20, "tags": ["a", "b"]}
    assert len(parser._parsed) == 1
    with app.test_request_context("/x?page[size]=21"):
        assert parser.parse(schema, location="query") == {"size": 21}


def test_invalid_query_strings_are_refused_every_time_and_never_remembered(app):
    parser, schema = QueryCachingParser(limit=4), _Query()
    for _ in range(2):
        with app.test_request_context("/x?page[size]=0"), pytest.raises(UnprocessableEntity):
            parser.parse(schema, location="query")
    assert len(parser._parsed) == 0


def test_the_memo_stays_bounded(app):
    parser, schema = QueryCachingParser(limit=4), _Query()
    for size in range(1, 11):
        with app.test_request_context(f"/x?page[size]={size}"):
            assert parser.parse(schema, location="query") == {"size": size}
    assert len(parser._parsed) <= 4

"""The documented API is a valid OpenAPI document, and the response check of tests/response_contract.py can fail.

A throwaway app answers shapes that contradict its own documentation; the check must name each one.
"""

from __future__ import annotations

import pytest
from flask import Flask, jsonify
from flask.views import MethodView
from marshmallow import Schema, fields
from openapi_spec_validator import validate

from core.api.blueprint import Api, Blueprint
from core.errors import Conflict, register_error_handlers

HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def test_the_served_openapi_document_is_valid(app):
    document = app.test_client().get("/openapi.json").get_json()
    validate(document)  # raises on any invalid bit (e.g. a Decimal's "minimum": "0")
    activate = document["components"]["schemas"]["DoorPayment"]["properties"]["amount"]
    assert activate["minimum"] == 0


def test_the_idempotency_key_is_documented_as_the_app_takes_it(tenant):
    """Found by the OpenAPI fuzzer: an empty key, valid by the document, answered 422 `invalid_idempotency_key`."""
    document = tenant.app.test_client().get("/openapi.json").get_json()
    parameter = next(p for p in document["paths"]["/events/tickets/comp"]["post"]["parameters"]
                     if p["name"] == "Idempotency-Key")
    assert (parameter["schema"]["minLength"], parameter["schema"]["maxLength"]) == (1, 255)
    for refused in ("", "k" * 256):
        answer = tenant.staff.post("/events/tickets/comp", json={}, headers={"Idempotency-Key": refused})
        assert answer.status_code == 422 and answer.get_json()["type"] == "invalid_idempotency_key"


def test_every_operation_documents_the_error_envelope_with_its_type(app):
    document = app.test_client().get("/openapi.json").get_json()
    error = document["components"]["schemas"]["Error"]
    assert {"code", "status", "type", "message"} <= set(error["required"])
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if method not in HTTP_METHODS:
                continue
            assert operation["responses"]["default"] == {"$ref": "#/components/responses/DEFAULT_ERROR"}, \
                (method, path)


class CountSchema(Schema):
    count = fields.Integer(required=True)
    note = fields.String(allow_none=True)


@pytest.fixture
def liar():
    """A small app whose views answer hand-built bodies, some of which contradict their documentation."""
    app = Flask("liar")
    app.config.update(API_TITLE="liar", API_VERSION="1", OPENAPI_VERSION="3.0.3", OPENAPI_URL_PREFIX="/",
                      OPENAPI_JSON_PATH="openapi.json")
    api = Api(app)
    register_error_handlers(app)
    blp = Blueprint("liar", __name__)

    @blp.route("/count/<kind>")
    class Count(MethodView):
        @blp.response(200, CountSchema)
        def get(self, kind):
            bodies = {"right": ({"count": 3, "note": None}, 200),
                      "wrong_type": ({"count": "three"}, 200),
                      "undocumented_field": ({"count": 3, "secret": "x"}, 200),
                      "null_count": ({"count": None}, 200),
                      "undocumented_status": ({"count": 3}, 201),
                      "error_without_type": ({"code": 409, "status": "Conflict", "message": "no"}, 409)}
            body, status = bodies[kind]
            return jsonify(body), status  # a hand-built answer: the response schema only documents it

    @blp.route("/refuse")
    class Refuse(MethodView):
        @blp.response(200, CountSchema)
        def get(self):
            raise Conflict("Sold out.", type="sold_out")

    api.register_blueprint(blp)
    return app.test_client()


def test_answers_that_agree_with_their_documentation_pass(liar, response_contract):
    assert liar.get("/count/right").status_code == 200
    assert liar.get("/refuse").get_json()["type"] == "sold_out"
    assert liar.get("/nowhere").status_code == 404
    assert response_contract.take() == []


@pytest.mark.parametrize(("kind", "expected"), [
    ("wrong_type", "GET /count/<kind> -> 200: count: 'three' is not of type 'integer'"),
    ("undocumented_field", "GET /count/<kind> -> 200: <body>: Additional properties are not allowed ('secret'"),
    ("null_count", "GET /count/<kind> -> 200: count: None for not nullable"),  # OpenAPI 3.0's nullable
    ("undocumented_status", "GET /count/<kind> -> 201: status 201 is not documented"),
    ("error_without_type", "GET /count/<kind> -> 409: <body>: 'type' is a required property"),
])
def test_an_answer_contradicting_its_documentation_is_reported(liar, response_contract, kind, expected):
    liar.get(f"/count/{kind}")
    found = response_contract.take()  # taken here, so this test itself does not fail on them
    assert len(found) == 1 and found[0].startswith(expected), found


def test_a_json_success_from_a_route_outside_the_document_is_reported(liar, response_contract):
    liar.application.add_url_rule("/hidden", "hidden", lambda: {"count": 3})
    liar.application.add_url_rule("/page", "page", lambda: "<html></html>")
    liar.get("/page")
    assert response_contract.take() == []
    liar.get("/hidden")
    assert response_contract.take() == [
        "GET /hidden -> 200: JSON status 200 from a route that is not documented in /openapi.json"]

"""Hostile input gets a 4xx JSON envelope, never a 500: integers beyond their column, JSON nested too deep,
unpaired surrogates, bodies over the size limit, and every HTTP error the app itself raises."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from test_purchase_support import guest_purchase, make_event, make_type
from werkzeug.exceptions import default_exceptions

from core.api_schema import INT32
from core.json_body import MAX_JSON_DEPTH, too_deep

TOO_BIG = 2**31  # 2147483648: one past PostgreSQL's INTEGER


def _is_422_naming(response, *path: str) -> None:
    body = response.get_json()
    assert response.status_code == 422, body
    assert body["type"] in {"validation_error", "invalid_characters"}
    errors = body["errors"]["json"]
    for key in path:
        errors = errors[key]
    assert errors


def test_capacity_beyond_integer_is_422_on_create_and_patch(tenant):
    staff = tenant.staff
    _is_422_naming(staff.post("/venues", json={"name": "Huge", "capacity": TOO_BIG}), "capacity")
    venue = staff.post("/venues", json={"name": "Hall", "capacity": INT32[1]})
    assert venue.status_code == 201, venue.get_json()
    _is_422_naming(staff.patch(f"/venues/{venue.get_json()['data']['id']}", json={"capacity": TOO_BIG}), "capacity")
    event_id = make_event(tenant)
    _is_422_naming(staff.patch(f"/events/{event_id}", json={"event": {"capacity": TOO_BIG}}), "capacity")
    _is_422_naming(staff.patch(f"/events/{event_id}", json={"event": {"position": -TOO_BIG - 1}}), "position")
    _is_422_naming(staff.patch(f"/events/{event_id}", json={"capacity": -1}), "capacity")
    huge_type = staff.post(f"/events/{event_id}/ticket-types", json={"name": "X", "capacity": TOO_BIG})
    _is_422_naming(huge_type, "capacity")


def test_every_integer_a_client_sends_is_bounded_in_the_openapi_document(app):
    """Request bodies and parameters; responses' own headers and flask-smorest's pagination header are not input."""
    spec = app.test_client().get("/openapi.json").get_json()
    spec["components"]["schemas"].pop("PaginationMetadata", None)
    unbounded = []

    def walk(node, where):
        if where.endswith("/responses"):
            return
        if isinstance(node, dict):
            if node.get("type") == "integer" and ("maximum" not in node or "minimum" not in node):
                unbounded.append(where)
            for key, value in node.items():
                walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, f"{where}/{index}")

    walk(spec, "")
    assert unbounded == []


def test_every_schema_derives_from_the_bounded_base():
    """The ranges live in core.api_schema.Schema; a schema built on marshmallow's own would skip them."""
    root = Path(__file__).resolve().parents[1]
    direct = [str(path.relative_to(root)) for folder in ("core", "plugins", "tenants")
              for path in (root / folder).rglob("*.py")
              if path.name != "api_schema.py" and re.search(r"^from marshmallow import .*\bSchema\b|ma\.Schema\)",
                                                            path.read_text(), re.M)]
    assert direct == []


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 50_000])
def test_json_nested_too_deep_is_400_before_parsing(tenant, depth):
    event_id = make_event(tenant)
    deep = "[" * depth + "]" * depth
    for path in ("/events/tickets/purchase", f"/events/{event_id}/ticket-types"):
        body = '{"name": "Deep", "metadata": {"a": ' + deep + "}}"
        response = tenant.guest.post(path, data=body, headers={"Content-Type": "application/json"})
        assert response.status_code == 400, response.get_json()
        assert response.get_json()["type"] == "json_too_deep"


def test_nesting_within_the_limit_and_brackets_in_strings_pass():
    assert not too_deep(b'{"a": "' + b"[" * 100 + b'"}')
    assert not too_deep(b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH)
    assert too_deep(b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1))
    assert not too_deep(b'["\\"' + b"{" * 40 + b'"]')


def test_unpaired_surrogate_is_422_naming_the_field(tenant):
    raw = '{"name": "Hall \\ud800", "city": "Paris"}'
    response = tenant.staff.post("/venues", data=raw, headers={"Content-Type": "application/json"})
    _is_422_naming(response, "name")
    assert "city" not in response.get_json()["errors"]["json"]
    event_id = make_event(tenant)
    nested = '{"name": "VIP", "metadata": {"note": "\\udfff x"}}'
    response = tenant.staff.post(f"/events/{event_id}/ticket-types", data=nested,
                                 headers={"Content-Type": "application/json"})
    _is_422_naming(response, "metadata", "note")


def test_paired_surrogates_are_stored(tenant):
    raw = '{"name": "Hall \\ud83c\\udfb8", "city": "Paris"}'
    response = tenant.staff.post("/venues", data=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["data"]["name"] == "Hall \U0001f3b8"


def test_body_over_the_limit_is_413_in_the_envelope(tenant, config):
    event_id = make_event(tenant)
    type_id = make_type(tenant, event_id)
    body = guest_purchase(tenant, event_id, [(type_id, 1)], padding="x" * config.max_body_bytes)
    response = tenant.guest.post("/events/tickets/purchase", json=body)
    assert response.status_code == 413
    assert response.get_json()["type"] == "body_too_large"
    assert f"{config.max_body_bytes:,}" in response.get_json()["message"]


@pytest.mark.parametrize("code", sorted(default_exceptions))
def test_every_http_error_the_app_raises_is_the_json_envelope(app, code):
    with app.test_request_context("/venues"):
        response = app.handle_http_exception(default_exceptions[code]())
    assert response.status_code == code and response.mimetype == "application/json"
    body = response.get_json()
    assert body["code"] == code and body["type"] and body["type"] != "error"
    assert code not in (414, 431) or body["type"] in {"uri_too_long", "headers_too_large"}

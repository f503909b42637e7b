"""Request ids: every answer carries `X-Request-ID` (the client's when sane, else a new unique one), and the same
id is in 5xx bodies (`requestId`) and on the log records of that request.
"""

from __future__ import annotations

import logging

import pytest
from test_db_unavailable import bound

from core import db as database
from core.request_id import HEADER, LOG_FORMAT, RequestIdFilter


def test_every_answer_carries_a_new_unique_id(tenant):
    answers = [tenant.guest.get("/health"), tenant.guest.get("/health"), tenant.guest.get("/no/such/route"),
               tenant.staff.post("/venues", json={"name": ""}), tenant.staff.get("/venues")]
    ids = [answer.headers[HEADER] for answer in answers]
    assert [answer.status_code for answer in answers] == [200, 200, 404, 422, 200]
    assert len(set(ids)) == len(ids) and all(ids)
    assert "requestId" not in answers[3].get_json()  # only 5xx bodies carry it


@pytest.mark.parametrize("sent", ["abc-123", "A.b_C-9" * 18 + "xx", "0" * 128])
def test_a_sane_client_id_is_kept(tenant, sent):
    assert tenant.guest.get("/health", headers={HEADER: sent}).headers[HEADER] == sent


@pytest.mark.parametrize("sent", ["", "0" * 129, "a b", "id;drop", "é"])
def test_an_insane_client_id_is_replaced(tenant, sent):
    answered = tenant.guest.get("/health", headers={HEADER: sent}).headers[HEADER]
    assert answered and answered != sent


def test_a_5xx_body_and_its_log_lines_carry_the_id(tenant):
    records: list[logging.LogRecord] = []
    collector = logging.Handler()
    collector.emit = records.append
    collector.addFilter(RequestIdFilter())
    logging.getLogger().addHandler(collector)
    try:
        with bound(database.make_database("postgresql://postgres@127.0.0.1:1/boxoffice", connect_timeout=2)):
            response = tenant.staff.get("/venues", headers={HEADER: "trace-42"})
    finally:
        logging.getLogger().removeHandler(collector)
    assert response.status_code == 503
    assert response.headers[HEADER] == response.get_json()["requestId"] == "trace-42"
    lines = [logging.Formatter(LOG_FORMAT).format(r) for r in records if r.name == "core.errors"]
    assert lines and all("[trace-42]" in line for line in lines)
    outside = logging.LogRecord("x", logging.INFO, __file__, 1, "m", None, None)
    RequestIdFilter().filter(outside)
    assert outside.request_id == "-"


def test_the_openapi_document_declares_the_header_on_every_response(app):
    spec = app.test_client().get("/openapi.json").get_json()
    assert spec["components"]["headers"][HEADER]["schema"]["maxLength"] == 128
    missing = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if not isinstance(operation, dict):  # a path's shared `parameters`
                continue
            for status, response in operation.get("responses", {}).items():
                if "$ref" in response:
                    response = spec["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
                if response.get("headers", {}).get(HEADER) != {"$ref": f"#/components/headers/{HEADER}"}:
                    missing.append(f"{method.upper()} {path} {status}")
    assert not missing

"""Packaging and operations: README and CI agree, `gunicorn wsgi:app` serves with two workers, the OpenAPI
document is complete, and every error is the JSON envelope, never HTML (the docs themselves: test_docs.py).
"""

from __future__ import annotations

import re
import subprocess
from importlib.metadata import distribution

import pytest
from procs import ROOT, ServerProcess, free_port, gunicorn_command, operator_headers

README = (ROOT / "README.md").read_text()


def _readme_command(marker: str) -> str:
    """The one-line command in the code block right after `<!-- marker -->` in the README."""
    match = re.search(rf"^<!-- {marker} -->\n```sh\n(.+)\n```$", README, re.MULTILINE)
    assert match, f"README has no `<!-- {marker} -->` code block"
    return match.group(1)


def test_ci_runs_exactly_the_readme_test_command():
    readme_command = _readme_command("test-command")
    ci_command = subprocess.run(["bash", str(ROOT / ".ci/run"), "--print-test-command"], capture_output=True,
                                text=True, check=True).stdout.strip()
    assert ci_command == readme_command
    assert readme_command.startswith("python3 -m venv .venv && ") and '".[test]"' in readme_command
    assert readme_command.endswith(".venv/bin/pytest")


def test_readme_has_exactly_two_setup_commands():
    run_command = _readme_command("run-command")
    assert run_command.startswith("python3 -m venv .venv && ") and run_command.endswith("boxoffice run")
    setup_lines = [line for line in README.splitlines() if line.startswith("python3 -m venv")]
    assert setup_lines == [run_command, _readme_command("test-command")]


def test_installed_package_declares_script_extras_and_plugins():
    dist = distribution("boxoffice")
    eps = dist.entry_points
    assert [ep.value for ep in eps if ep.group == "console_scripts" and ep.name == "boxoffice"] == ["core.cli:main"]
    plugins = {ep.name: ep.value for ep in eps if ep.group == "boxoffice.plugins"}
    assert "free" not in plugins and plugins["offline"] == "plugins.offline"
    assert {ep.name: ep.value for ep in eps if ep.group == "boxoffice.extensions"} == {"tenants": "tenants.extension"}
    assert {"postgres", "test"} <= set(dist.metadata.get_all("Provides-Extra"))
    for name, value in plugins.items():  # every declared built-in exists in the tree
        assert (ROOT / value.replace(".", "/")).is_dir() or (ROOT / (value.replace(".", "/") + ".py")).exists(), name


def test_gunicorn_serves_wsgi_app_with_two_workers():
    port = free_port()
    with ServerProcess(gunicorn_command(port, workers=2), port) as srv:
        assert srv.request("GET", "/health").json() == {"ok": True}
        created = srv.request("POST", "/operator/tenants", json={"name": "Gunicorn Org"}, headers=operator_headers())
        assert created.status_code == 201, created.text
        orgid, key = created.json()["orgid"], created.json()["adminApiKey"]
        tokens = [srv.request("POST", "/api/auth/token", json={"apiKey": key}, headers={"orgid": orgid})
                  for _ in range(6)]
        assert {t.status_code for t in tokens} == {200}
        me = srv.request("GET", "/auth/me", headers={"orgid": orgid,
                                                     "Authorization": f"Bearer {tokens[-1].json()['token']}"})
        assert me.json()["org"] == orgid
        missing = srv.request("GET", "/no/such/route")
        assert missing.status_code == 404 and missing.headers["Content-Type"] == "application/json"
        assert srv.output().count("Booting worker") == 2


# --- OpenAPI ---------------------------------------------------------------------------------------

HTTP_METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture(scope="module")
def spec(app):
    response = app.test_client().get("/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def _documents_success(code: str, response: dict, spec: dict) -> bool:
    if "$ref" in response:
        response = spec["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    return code == "204" or bool(response.get("content"))


def test_every_operation_documents_a_success_response_with_content(spec):
    undocumented = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method not in HTTP_METHODS:
                continue
            ok = [code for code, response in operation["responses"].items()
                  if code[0] in "23" and _documents_success(code, response, spec)]
            if not ok:
                undocumented.append(f"{method.upper()} {path}")
    assert undocumented == [], "operations without a documented success body (schema or content):\n" + \
        "\n".join(undocumented)


def test_operator_routes_declare_their_security(spec):
    assert "operatorToken" in spec["components"]["securitySchemes"]
    operator_paths = [path for path in spec["paths"] if path.startswith("/operator")]
    assert len(operator_paths) >= 6
    for path in operator_paths:
        for method, operation in spec["paths"][path].items():
            if method in HTTP_METHODS:
                assert operation.get("security") == [{"operatorToken": []}], f"{method} {path}"
                assert "401" in operation["responses"], f"{method} {path}"


def test_docs_page_is_served(app):
    response = app.test_client().get("/docs")
    assert response.status_code == 200 and b"swagger" in response.data.lower()


# --- the error envelope --------------------------------------------------------------------------


def _assert_envelope(response, status: int, type_: str | None = None):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.headers["Content-Type"] == "application/json"
    assert b"<html" not in response.data.lower()
    body = response.get_json()
    assert {"code", "status", "type", "message"} <= set(body)
    assert body["code"] == status and isinstance(body["status"], str) and body["message"]
    if type_:
        assert body["type"] == type_


def test_every_error_status_is_the_json_envelope(app, tenant, other_tenant):
    client = app.test_client()
    org = {"orgid": tenant.orgid}
    _assert_envelope(client.get("/no/such/route"), 404, "not_found")
    _assert_envelope(client.get("/api/no/such/route"), 404, "not_found")
    _assert_envelope(client.delete("/health"), 405, "method_not_allowed")
    _assert_envelope(client.put("/operator/tenants"), 405, "method_not_allowed")
    _assert_envelope(client.get("/auth/me", headers=org), 401)
    _assert_envelope(client.get("/operator/tenants"), 401, "invalid_operator_token")
    _assert_envelope(client.get("/auth/me", headers={**org, "Authorization": "Bearer not.a.jwt"}), 401,
                     "invalid_token")
    foreign = {**org, "Authorization": f"Bearer {other_tenant.staff_token}"}
    _assert_envelope(client.get("/auth/me", headers=foreign), 403, "org_mismatch")
    _assert_envelope(client.post("/client/auth/login", json={"email": "x@y.co"}, headers=org), 422,
                     "validation_error")
    register = {"email": "dup@example.com", "password": "long-enough-1"}
    client.post("/client/auth/register", json=register, headers=org)
    _assert_envelope(client.post("/client/auth/register", json=register, headers=org), 409, "email_taken")
    _assert_envelope(client.post("/client/auth/login", json={}), 400, "missing_orgid")
    _assert_envelope(client.post("/client/auth/login", data="{", headers={**org, "Content-Type": "application/json"}),
                     400, "invalid_json")


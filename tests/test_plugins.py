"""Plugins: every hook documented; a third-party package found through its entry point, served for real.

The sample plugin in tests/sample_plugin is pip-installed into a temporary folder and loaded by a gunicorn
subprocess exactly like a partner's package; its routes and hooks must only ever run for tenants that
enabled it.
"""

from __future__ import annotations

import inspect
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from procs import ServerProcess, boxoffice_env, free_port, gunicorn_command, operator_headers

from core import hookspecs

SAMPLE_SOURCE = Path(__file__).resolve().parent / "sample_plugin"


def _hookspecs() -> dict:
    return {name: fn for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
            if hasattr(fn, "boxoffice_spec")}


def test_every_hook_has_a_docstring():
    specs = _hookspecs()
    assert len(specs) >= 10
    undocumented = [name for name, fn in specs.items() if len((inspect.getdoc(fn) or "").strip()) < 20]
    assert undocumented == [], f"hooks without a docstring: {undocumented}"


def test_every_hook_is_registered_with_the_plugin_manager(app):
    from core.plugins import get_host

    registered = {name for name in dir(get_host().pm.hook) if not name.startswith("_")}
    assert set(_hookspecs()) <= registered


def test_built_in_plugins_come_from_the_entry_point_group(app):
    from importlib.metadata import entry_points

    from core.plugins import ENTRY_POINT_GROUP, get_host

    declared = {ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)}
    assert {"offline", "stripe", "paypal"} <= declared
    assert declared <= set(get_host().names())


@pytest.fixture(scope="module")
def sample_plugin_path(tmp_path_factory) -> Path:
    """The sample plugin pip-installed (with its entry point metadata) into a folder for PYTHONPATH."""
    build = tmp_path_factory.mktemp("sample-src")
    source = build / "sample_plugin"
    shutil.copytree(SAMPLE_SOURCE, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    target = tmp_path_factory.mktemp("sample-site")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                    "--target", str(target), str(source)], check=True, capture_output=True, text=True)
    assert list(target.glob("boxoffice_sample_plugin-*.dist-info"))
    return target


@pytest.fixture(scope="module")
def server_with_sample(sample_plugin_path):
    """gunicorn serving wsgi:app with the sample plugin installed (one worker: no per-worker cache lag)."""
    pythonpath = os.pathsep.join(p for p in (str(sample_plugin_path), os.environ.get("PYTHONPATH")) if p)
    port = free_port()
    with ServerProcess(gunicorn_command(port, workers=1), port, env=boxoffice_env(PYTHONPATH=pythonpath)) as srv:
        yield srv


def _create_tenant(srv, name, **body):
    response = srv.request("POST", "/operator/tenants", json={"name": name, **body}, headers=operator_headers())
    assert response.status_code == 201, response.text
    return response.json()


def _notes(srv, orgid):
    return srv.request("GET", "/sample/notes", headers={"orgid": orgid})


def _create_ticket_type(srv, tenant: dict, name: str) -> None:
    """Through the core's staff API: an event and one ticket type (fires `ticket_type_saved`)."""
    token = srv.request("POST", "/auth/token", json={"apiKey": tenant["adminApiKey"]},
                        headers={"orgid": tenant["orgid"]}).json()["token"]
    staff = {"orgid": tenant["orgid"], "Authorization": f"Bearer {token}"}
    event = srv.request("POST", "/events", headers=staff, json={"event": {
        "name": "Plugin Night", "starts_at": "2031-05-01T20:00:00Z", "ends_at": "2031-05-01T23:00:00Z"}})
    assert event.status_code == 201, event.text
    created = srv.request("POST", f"/events/{event.json()['data']['id']}/ticket-types", headers=staff,
                          json={"name": name, "price": 10, "currency": "EUR", "capacity": 5})
    assert created.status_code == 201, created.text


def test_third_party_plugin_runs_only_for_tenants_that_enabled_it(server_with_sample):
    srv = server_with_sample
    plugins = srv.request("GET", "/operator/plugins", headers=operator_headers()).json()
    sample = next(p for p in plugins if p["name"] == "sample")
    assert sample["description"].startswith("Sample notes")

    with_sample = _create_tenant(srv, "With Sample", plugins=["offline", "sample"])
    without = _create_tenant(srv, "Without Sample")
    assert "sample" in with_sample["plugins"] and "sample" not in without["plugins"]

    # Both tenants save a ticket type through the core API, which calls `ticket_type_saved`.
    _create_ticket_type(srv, with_sample, "Gold")
    _create_ticket_type(srv, without, "Silver")

    # The route and both hooks ran for the tenant that enabled the plugin...
    mine = _notes(srv, with_sample["orgid"])
    assert mine.status_code == 200, mine.text
    assert mine.json() == [{"kind": "tenant_created", "text": "welcome With Sample"},
                           {"kind": "ticket_type_saved", "text": "created Gold"}]

    # ...and never for the other one: the route is 404 plugin_not_enabled, in the JSON envelope.
    theirs = _notes(srv, without["orgid"])
    assert theirs.status_code == 404
    assert theirs.headers["Content-Type"].startswith("application/json")
    assert theirs.json()["type"] == "plugin_not_enabled"

    # Enabling later opens the route; the empty list proves neither hook ever ran for this tenant.
    enabled = srv.request("POST", f"/operator/tenants/{without['orgid']}/plugins/sample/enable",
                          headers=operator_headers())
    assert enabled.status_code == 200
    assert _notes(srv, without["orgid"]).json() == []

    # Disabling closes it again.
    srv.request("POST", f"/operator/tenants/{with_sample['orgid']}/plugins/sample/disable",
                headers=operator_headers())
    assert _notes(srv, with_sample["orgid"]).json()["type"] == "plugin_not_enabled"


def test_plugin_route_is_in_the_openapi_spec(server_with_sample):
    spec = server_with_sample.request("GET", "/openapi.json").json()
    assert "/sample/notes" in spec["paths"]


def test_plugin_table_is_created_by_the_migration_runner(server_with_sample, db):
    from core.migrations import SchemaMigration

    rows = SchemaMigration.select().where(SchemaMigration.component == "sample").order_by(SchemaMigration.version)
    assert [(row.version, row.name) for row in rows] == [(1, "initial_tables"), (2, "note_kind")]
    columns = {column.name for column in db.get_columns("sample_notes")}
    assert {"id", "org_id", "text", "kind", "created_at"} <= columns


def test_plugin_is_unknown_to_a_server_without_it(operator, tenant):
    """The test process itself never installed the sample plugin: enabling it is 404 unknown_plugin."""
    response = operator.post(f"/operator/tenants/{tenant.orgid}/plugins/sample/enable")
    assert response.status_code == 404 and response.get_json()["type"] == "unknown_plugin"

"""Test fixtures: a fresh database per run (SQLite file, or a new PostgreSQL database when
BOXOFFICE_DATABASE_URL points at one), one app per session, a new tenant per test, real HTTP servers.

Tenants isolate tests from each other: every row is scoped by org, so no table is ever truncated.
"""

from __future__ import annotations

import os
import secrets
import sys
import tempfile
import threading
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

# Every answer a test receives is checked against its route's documented response (tests/response_contract.py).
pytest_plugins = ["response_contract"]

_DATA_DIR = tempfile.mkdtemp(prefix="boxoffice-test-")
os.environ["BOXOFFICE_DATA_DIR"] = _DATA_DIR
os.environ["BOXOFFICE_JOBS_IMMEDIATE"] = "1"
os.environ.pop("BOXOFFICE_REDIS_URL", None)
os.environ.setdefault("BOXOFFICE_SECRET_KEY", secrets.token_urlsafe(32))
os.environ.setdefault("BOXOFFICE_OPERATOR_TOKEN", "op-" + secrets.token_urlsafe(16))
# Throttling tests lower these on the session app; the rest of the suite must never meet them.
os.environ.setdefault("BOXOFFICE_THROTTLE_PER_ADDRESS", "100000/minute")
os.environ.setdefault("BOXOFFICE_THROTTLE_PER_ACCOUNT", "100000/minute")

_PG_ADMIN_URL = None
_PG_TEST_DB = None


def _create_postgres_database(url: str) -> str:
    """Make a fresh database next to the one `url` names; return its URL."""
    import psycopg

    global _PG_ADMIN_URL, _PG_TEST_DB
    _PG_ADMIN_URL = url
    _PG_TEST_DB = f"boxoffice_test_{os.getpid()}_{secrets.token_hex(3)}"
    conn = psycopg.connect(url, autocommit=True)
    with conn.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{_PG_TEST_DB}"')
    conn.close()
    parsed = urlparse(url)
    return urlunparse(parsed._replace(path="/" + _PG_TEST_DB))


def _drop_postgres_database() -> None:
    import psycopg

    from core import db as database
    from core import invalidation

    invalidation.stop()  # its LISTEN connection is on the database about to be dropped
    if database.db.obj is not None:
        try:
            database.db.obj.close_all()
        except AttributeError:
            database.db.close()
    conn = psycopg.connect(_PG_ADMIN_URL, autocommit=True)
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{_PG_TEST_DB}" WITH (FORCE)')
    conn.close()


_url = os.environ.get("BOXOFFICE_DATABASE_URL", "")
if _url.startswith("postgres"):
    os.environ["BOXOFFICE_DATABASE_URL"] = _create_postgres_database(_url)
else:
    os.environ["BOXOFFICE_DATABASE_URL"] = f"sqlite:///{_DATA_DIR}/boxoffice.db"


def pytest_report_header(config):
    backend = "postgresql" if _PG_TEST_DB else "sqlite"
    return f"boxoffice database: {backend} ({os.environ['BOXOFFICE_DATABASE_URL']})"


def pytest_sessionfinish(session, exitstatus):
    if _PG_TEST_DB:
        _drop_postgres_database()


@pytest.fixture(scope="session")
def app():
    """The application, built once per test run from the environment above."""
    from core.app import create_app

    return create_app()


@pytest.fixture(scope="session")
def config(app):
    """The running app's Config."""
    return app.config["BOXOFFICE"]


@pytest.fixture
def db(app):
    """An open database connection for tests that read or write models directly."""
    from core import db as database

    with database.db.connection_context():
        yield database.db


class ApiClient:
    """A Flask test client that sends `orgid` and, when set, a bearer token with every request."""

    def __init__(self, flask_client, orgid: str | None, token: str | None = None):
        self.flask = flask_client
        self.orgid = orgid
        self.token = token

    def headers(self, extra=None) -> dict:
        headers = {}
        if self.orgid is not None:
            headers["orgid"] = self.orgid
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        headers.update(extra or {})
        return headers

    def request(self, method, path, json=None, headers=None, **kwargs):
        return self.flask.open(path, method=method, json=json, headers=self.headers(headers), **kwargs)

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path, json=None, **kwargs):
        return self.request("POST", path, json=json, **kwargs)

    def patch(self, path, json=None, **kwargs):
        return self.request("PATCH", path, json=json, **kwargs)

    def put(self, path, json=None, **kwargs):
        return self.request("PUT", path, json=json, **kwargs)

    def delete(self, path, **kwargs):
        return self.request("DELETE", path, **kwargs)

    def as_token(self, token: str | None) -> ApiClient:
        return ApiClient(self.flask, self.orgid, token)


class Tenant:
    """A freshly provisioned tenant with clients for staff, guests and customers."""

    def __init__(self, app, created):
        self.app = app
        self.org = created.org
        self.orgid = created.org.id
        self.admin_api_key = created.admin_api_key
        self._flask = app.test_client()
        self.guest = ApiClient(self._flask, self.orgid)
        token = self.guest.post("/auth/token", json={"apiKey": self.admin_api_key}).get_json()["token"]
        self.staff_token = token
        self.staff = ApiClient(self._flask, self.orgid, token)

    def customer(self, email: str | None = None, password: str = "correct-horse-9", name: str = "Test Fan"):
        """Register a customer and return a client logged in as them."""
        email = email or f"fan-{secrets.token_hex(4)}@example.com"
        response = self.guest.post("/client/auth/register",
                                   json={"email": email, "password": password, "name": name})
        assert response.status_code == 201, response.get_json()
        client = self.guest.as_token(response.get_json()["token"])
        client.email = email
        client.customer_id = response.get_json()["customer"]["id"]
        return client

    def enable(self, plugin: str) -> None:
        from core import db as database
        from tenants import service

        with database.db.connection_context():
            service.set_plugin_enabled(self.orgid, plugin, True)

    def configure(self, plugin: str, **values) -> None:
        from core import db as database
        from tenants import service

        with database.db.connection_context():
            service.configure_plugin(self.orgid, plugin, values)


def make_tenant(app, name: str = "Test Org", plugins: tuple[str, ...] | None = None) -> Tenant:
    """Provision a new tenant through the service layer."""
    from core import db as database
    from tenants import service

    with database.db.connection_context():
        created = service.create_tenant(name, plugins=plugins,
                                        default_plugins=app.config["BOXOFFICE"].default_plugins)
    return Tenant(app, created)


@pytest.fixture
def tenant(app) -> Tenant:
    """A new tenant for this test (default plugins: offline)."""
    return make_tenant(app, "Tenant A")


@pytest.fixture
def other_tenant(app) -> Tenant:
    """A second tenant, to prove isolation."""
    return make_tenant(app, "Tenant B")


@pytest.fixture
def operator(app):
    """A test client carrying the operator token (no orgid)."""
    client = ApiClient(app.test_client(), None, app.config["BOXOFFICE"].operator_token)
    return client


class LiveServer:
    """The app served over real HTTP by a threaded WSGI server on a free loopback port."""

    def __init__(self, app):
        from werkzeug.serving import make_server

        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()


@pytest.fixture(scope="session")
def live_server(app):
    """A real HTTP server for race tests (threads or processes hitting it concurrently)."""
    server = LiveServer(app).start()
    yield server
    server.stop()

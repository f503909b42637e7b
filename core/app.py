"""The application factory: the only place that wires config, database, plugins, jobs and routes.

Importing this module has no side effects; call `create_app()`.
"""

from __future__ import annotations

from flask import Flask

from core import clock
from core import db as database
from core.api import register_core_blueprints
from core.api.blueprint import Api
from core.api.cors import answer_preflight
from core.api.docs_assets import DOCS_UI_SETTINGS, register_docs_ui
from core.api.http_headers import register_http_headers
from core.api.throttle import register_throttling
from core.api_keys import SCOPE_DOCS
from core.auth import key_security_scheme, request_actor
from core.config import Config, use_config
from core.errors import register_error_handlers
from core.extensions import extensions
from core.invalidation import start as start_invalidation
from core.jobs import init_jobs
from core.json_provider import OrjsonProvider
from core.keys import resolve_secrets
from core.log_format import configure_logging
from core.metrics_export import prepare_folder
from core.plugins import init_host
from core.request_guards import CORE_BEFORE_REQUEST, in_order
from core.request_metrics import RequestClock
from core.schema import upgrade_schema
from core.services import audit
from core.statement_log import record_statements


class PrefixMiddleware:
    """Serve every route also under `/api` (the client documents call `/api/client/...`)."""

    def __init__(self, wsgi_app, prefix: str = "/api"):
        self.wsgi_app = wsgi_app
        self.prefix = prefix

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == self.prefix or path.startswith(self.prefix + "/"):
            environ["PATH_INFO"] = path[len(self.prefix):] or "/"
            environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + self.prefix
        return self.wsgi_app(environ, start_response)


def api_key_security_schemes() -> dict:
    """One OpenAPI security scheme per API key scope (`apiKey.<scope>`): a staff operation names the one it
    needs next to `bearerAuth` (OpenAPI 3.0 lists scopes in a security requirement for OAuth2 only)."""
    return {key_security_scheme(scope): {
        "type": "apiKey", "in": "header", "name": "Authorization",
        "description": f"A staff API key holding the `{scope}` scope ({doc}), sent as `Token <key>` or "
                       "`Bearer <key>`; it names its tenant, so `orgid` may be left out (when sent it must match)."}
        for scope, doc in SCOPE_DOCS.items()}


def _openapi_settings(app: Flask) -> None:
    app.config.update(
        API_TITLE="Boxoffice",
        API_VERSION="1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        **DOCS_UI_SETTINGS,  # Swagger UI and ReDoc from local files
        API_SPEC_OPTIONS={
            "components": {
                "securitySchemes": {
                    "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                                   "description": "A JWT (from /auth/token or a customer login) plus the `orgid` "
                                                  "header. One exchanged from an API key holds the key's scopes."},
                    **api_key_security_schemes(),
                    "operatorToken": {"type": "http", "scheme": "bearer"},
                },
                "parameters": {},
            },
            "info": {"description": "Multi-tenant event ticketing. Send the tenant id in the `orgid` header."},
        },
    )


def create_app(config: Config | None = None, extra_plugins: list | None = None,
               migrate: bool = True, listen: bool = True) -> Flask:
    """Build the Flask app: config from env unless given, database, plugins, jobs, the invalidation listener
    (`listen=False`: a one-shot command, which announces its changes but caches nothing worth keeping fresh),
    routes, migrations."""
    config = config or Config.from_env()
    config.data_path.mkdir(parents=True, exist_ok=True)
    resolve_secrets(config)
    use_config(config)
    clock.use_clock_file(config.test_clock_file or None)
    prepare_folder()

    database.bind_database(database.make_database(config.effective_database_url, prepare=config.pg_prepare,
                                                  connect_timeout=config.db_connect_timeout))
    if config.sql_record:
        record_statements(database.db.obj, config.sql_record)
    host = init_host(config.enabled_plugin_names, extra_plugins)
    init_jobs(config)
    configure_logging(config.log_format)  # before the listener thread, which may log at once (channel down)
    start_invalidation(config, listen)  # the listener: other processes' changes empty this one's caches at once

    app = Flask("boxoffice")
    app.json = OrjsonProvider(app)
    app.config["BOXOFFICE"] = config
    app.config["PLUGIN_HOST"] = host
    app.json.sort_keys = False
    app.config["MAX_CONTENT_LENGTH"] = config.max_body_bytes  # 413 body_too_large; uploads raise it per request
    _openapi_settings(app)
    api = Api(app)
    register_error_handlers(app)
    register_docs_ui(app)
    register_http_headers(app, config.trusted_proxies)

    # A browser's CORS preflight is answered first (it carries no `orgid`), then the core's steps run.
    app.before_request(in_order(answer_preflight, *CORE_BEFORE_REQUEST))
    # A connection is taken from the pool lazily on a request's first query and returned here.
    app.teardown_request(database.close_connection)

    audit.use_actor_source(request_actor)
    for declared in host.pm.hook.register_audit_actions():
        audit.register_actions(declared or {})
    register_core_blueprints(api)
    extensions().hook.register_routes(api=api, app=app)
    host.pm.hook.register_routes(api=api, app=app)
    register_throttling(app)

    if migrate:
        with database.db.connection_context():
            upgrade_schema(host)

    app.wsgi_app = RequestClock(PrefixMiddleware(app.wsgi_app))
    return app

"""Test plugin: every answer the suite receives is checked against its route's response in the app's /openapi.json.

It only records and reports (as a test failure); it never changes an answer or raises inside a request.

How: Flask's `request_finished` signal fires for every response of every app in this process (test client
and the live server's threads alike, error answers included). The answer's route, method and status pick
the documented response of that operation (an undocumented 2xx is a violation; a 4xx/5xx falls back to the
operation's `default`, the shared error response). A route outside the document (docs pages, their assets)
may answer anything but JSON, and JSON only as the shared error. A JSON body is validated with an OpenAPI 3.0 schema
validator compiled once per (document, path, method, status). Servers run as subprocesses (gunicorn) load
the same check through `tests/contract_gunicorn.py` and append their findings to a file this process reads.
"""

from __future__ import annotations

import os
import re
import tempfile
import threading
import weakref
from pathlib import Path

import pytest
from flask import request, signals
from openapi_schema_validator import OAS30ReadValidator, oas30_format_checker

# Routes that serve the documentation itself (flask-smorest's own blueprint) and Flask's static files.
UNCHECKED_ENDPOINT_PREFIXES = ("api-docs.", "static")
NO_BODY_STATUSES = (204, 304)
SHARED_ERROR_RESPONSE = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
MAX_ERRORS_SHOWN = 3  # per answer: a list of 200 rows with one wrong field says it once, not 200 times
SUBPROCESS_LOG_VARIABLE = "BOXOFFICE_TEST_CONTRACT_LOG"
_RULE_ARGUMENT = re.compile(r"<(?:[^<>:]+:)?([^<>:]+)>")


def openapi_path(rule: str) -> str:
    """A werkzeug rule (`/events/<event_id>`) as its OpenAPI path (`/events/{event_id}`)."""
    return _RULE_ARGUMENT.sub(r"{\1}", rule)


class ResponseContract:
    """One app's OpenAPI document, with a validator per documented (path, method, status) built on first use."""

    def __init__(self, document: dict):
        self.document = document
        self._validators: dict[tuple, OAS30ReadValidator] = {}
        self._lock = threading.Lock()

    def _response(self, path: str, method: str, status: int) -> tuple[dict | None, str | None]:
        """The documented response object for this answer, or why there is none."""
        operation = self.document["paths"][path].get(method)
        if operation is None:
            return None, f"method {method.upper()} is not documented for this path"
        responses = operation.get("responses", {})
        response = responses.get(str(status))
        if response is None and status >= 400:
            response = responses.get("default")
        if response is None:
            return None, f"status {status} is not documented (documented: {', '.join(responses)})"
        while "$ref" in response:
            response = self._resolve(response["$ref"])
        return response, None

    def _resolve(self, ref: str) -> dict:
        node = self.document
        for part in ref.removeprefix("#/").split("/"):
            node = node[part]
        return node

    def _validator(self, path: str, method: str, status: int, schema: dict) -> OAS30ReadValidator:
        key = (path, method, status)
        with self._lock:
            validator = self._validators.get(key)
            if validator is None:
                # Refs point into the document's components; the validator resolves them from its root.
                root = {**schema, "components": self.document.get("components", {})}
                validator = OAS30ReadValidator(root, format_checker=oas30_format_checker)
                self._validators[key] = validator
        return validator

    def violations(self, rule: str | None, method: str, status: int, mimetype: str, body) -> list[str]:
        """What is wrong with this answer against the document (empty when it agrees)."""
        path = openapi_path(rule) if rule else None
        if path is None or path not in self.document.get("paths", {}):
            # No route matched, or a route kept out of the document (docs pages and their assets): it may
            # answer anything but JSON, and JSON only as the shared error.
            if mimetype != "application/json":
                return []
            if status < 400:
                return [f"JSON status {status} from a route that is not documented in /openapi.json"]
            path, response, problem = None, SHARED_ERROR_RESPONSE, None
        else:
            response, problem = self._response(path, method, status)
        if problem:
            return [problem]
        if status in NO_BODY_STATUSES:
            return []
        content = response.get("content") or {}
        if mimetype != "application/json":
            if content and mimetype not in content:
                return [f"answered {mimetype}, documented {', '.join(content)}"]
            return []
        documented = content.get("application/json")
        if documented is None:
            return [f"answered JSON, documented {', '.join(content) or 'no body'}"]
        schema = documented.get("schema")
        if schema is None:
            return []
        validator = self._validator(path or "*", method, status, schema)
        errors = sorted(validator.iter_errors(body), key=lambda e: [str(p) for p in e.absolute_path])
        found = [f"{'/'.join(str(p) for p in error.absolute_path) or '<body>'}: {error.message}"
                 for error in errors[:MAX_ERRORS_SHOWN]]
        if len(errors) > MAX_ERRORS_SHOWN:
            found.append(f"and {len(errors) - MAX_ERRORS_SHOWN} more")
        return found


class Recorder:
    """Violations seen since the last report, from this process and from server subprocesses."""

    def __init__(self, subprocess_log: Path):
        self.subprocess_log = subprocess_log
        self._found: list[str] = []
        self.forward = False  # in a server subprocess: append to `subprocess_log` for the test process
        self._contracts: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # app -> its contract
        self._lock = threading.Lock()
        self._loading_lock = threading.RLock()
        self._loading = threading.local()  # `active` while this thread reads an app's /openapi.json

    def contract(self, app) -> ResponseContract | None:
        """The contract of `app`, read once from its own /openapi.json (None while that read is under way,
        and for an app that serves no OpenAPI document: a bare Flask app some test builds documents nothing)."""
        if "OPENAPI_JSON_PATH" not in app.config:
            return None
        contract = self._contracts.get(app)
        if contract is None:
            with self._loading_lock:
                contract = self._contracts.get(app)
                if contract is None:
                    if getattr(self._loading, "active", False):
                        return None  # the answer to our own /openapi.json request
                    self._loading.active = True
                    try:
                        path = "/" + app.config["OPENAPI_JSON_PATH"].lstrip("/")
                        prefix = (app.config.get("OPENAPI_URL_PREFIX") or "/").rstrip("/")
                        document = app.test_client().get(prefix + path).get_json()
                    finally:
                        self._loading.active = False
                    contract = self._contracts[app] = ResponseContract(document)
        return contract

    def check(self, app, response) -> None:
        """Check one Flask answer inside its request context; record what is wrong, never raise."""
        method = request.method
        rule = request.url_rule
        if method in ("HEAD", "OPTIONS") or (rule is not None and rule.endpoint.startswith(
                UNCHECKED_ENDPOINT_PREFIXES)):
            return
        try:
            body = response.get_json(silent=True) if response.is_json else None
            if (response.is_json and body is None and not response.is_streamed
                    and response.status_code not in NO_BODY_STATUSES):
                problems = ["answered application/json that is not valid JSON"]
            else:
                contract = self.contract(app)
                problems = [] if contract is None else contract.violations(
                    rule.rule if rule else None, method.lower(), response.status_code, response.mimetype, body)
        except Exception as exc:  # a checker bug must show up as a failure, not as a 500 to the client
            problems = [f"the response check itself failed: {exc!r}"]
        if problems:
            where = f"{method} {rule.rule if rule else request.path} -> {response.status_code}"
            self.record(f"{where}: " + "; ".join(problems))

    def record(self, violation: str) -> None:
        """Remember one violation until the next report."""
        if self.forward:
            with self._lock, self.subprocess_log.open("a") as log:
                log.write(violation.replace("\n", " ") + "\n")
            return
        with self._lock:
            self._found.append(violation)

    def take(self) -> list[str]:
        """Every violation recorded since the last call (this process's and the subprocesses')."""
        with self._lock:
            found, self._found = self._found, []
            if self.subprocess_log.exists() and self.subprocess_log.stat().st_size:
                found += self.subprocess_log.read_text().splitlines()
                self.subprocess_log.write_text("")
        return found

    def fail_if_any(self) -> None:
        """Fail the running test when answers contradicted their documented responses."""
        found = self.take()
        if found:
            pytest.fail("answers contradict their documented OpenAPI responses:\n  " + "\n  ".join(found),
                        pytrace=False)


def _on_request_finished(sender, response, **extra) -> None:
    RECORDER.check(sender, response)


def _subprocess_log() -> tuple[Path, bool]:
    """The file server subprocesses append to, and whether this process made it (and so removes it)."""
    existing = os.environ.get(SUBPROCESS_LOG_VARIABLE)
    if existing:
        return Path(existing), False
    handle, name = tempfile.mkstemp(prefix="boxoffice-contract-", suffix=".log")
    os.close(handle)
    os.environ[SUBPROCESS_LOG_VARIABLE] = name  # inherited by every server subprocess the tests start
    return Path(name), True


_LOG, _LOG_IS_OURS = _subprocess_log()
RECORDER = Recorder(_LOG)


def install() -> None:
    """Check every answer of every Flask app in this process from now on."""
    signals.request_finished.connect(_on_request_finished, weak=False)


def pytest_configure(config) -> None:
    """Start checking before any app exists."""
    install()


def pytest_sessionfinish(session, exitstatus) -> None:
    """Answers received after the last test (session fixtures' teardown) fail the run too."""
    found = RECORDER.take()
    if found:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line("answers contradict their documented OpenAPI responses (after the last test):\n  "
                                + "\n  ".join(found), red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_unconfigure(config) -> None:
    """Remove the subprocess findings file this run made."""
    if _LOG_IS_OURS:
        _LOG.unlink(missing_ok=True)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """Report the test's violations as its own failure (a test failing on its own keeps its report)."""
    result = yield
    RECORDER.fail_if_any()
    return result


@pytest.fixture(autouse=True)
def response_contract():
    """Every test: answers received in setup, the test and teardown are checked against /openapi.json."""
    yield RECORDER
    RECORDER.fail_if_any()

"""A small threaded HTTP server base for provider fakes: routing, request log, failure switches.

Test-only; binds to 127.0.0.1 on a free port and never forwards anything to a real provider.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlparse


@dataclass
class Recorded:
    """One request the fake received."""

    method: str
    path: str
    headers: dict
    body: bytes
    form: dict = field(default_factory=dict)
    json: object = None


class Reply(Exception):
    """Raised by a route to answer with a status and a JSON body."""

    def __init__(self, status: int, body: dict):
        super().__init__(status)
        self.status = status
        self.body = body


@dataclass
class Raw:
    """A route's answer body that is not JSON (a script a fake serves to browsers), with its content type."""

    data: bytes
    content_type: str


Route = tuple[str, re.Pattern, Callable]


class FakeProvider:
    """Base class: subclasses add routes with `route(method, pattern, handler)`; a handler returns
    `(status, body)` or `(status, body, after)`, where `after()` runs outside the fake's lock before the answer
    is sent (e.g. posting a callback to the application, which may call this fake again).

    `mode` switches every non-auth request: "ok" (normal), "5xx" (answers 500 with the provider's error
    shape from `server_error_body`) or "timeout" (sleeps `sleep_seconds` before answering).
    """

    sleep_seconds = 3.0

    def __init__(self):
        self.routes: list[Route] = []
        self.requests: list[Recorded] = []
        self.mode = "ok"
        self.lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self.url = ""

    # --- wiring ---------------------------------------------------------------------------------
    def route(self, method: str, pattern: str, handler: Callable) -> None:
        """Serve `method` on paths matching `pattern` (regex groups are passed to the handler)."""
        self.routes.append((method, re.compile(f"^{pattern}$"), handler))

    def start(self) -> FakeProvider:
        """Serve on a free loopback port in a daemon thread."""
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep pytest output quiet
                pass

            def _handle(self):
                fake._dispatch(self)

            do_GET = do_POST = do_PATCH = do_DELETE = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    def reset(self) -> None:
        """Back to normal answers and an empty request log (state of objects is kept)."""
        self.mode = "ok"
        self.requests.clear()

    def calls(self, method: str, path_prefix: str) -> list[Recorded]:
        """Recorded requests with this method whose path starts with `path_prefix`."""
        return [r for r in self.requests if r.method == method and r.path.startswith(path_prefix)]

    # --- overridable ----------------------------------------------------------------------------
    def is_auth_path(self, path: str) -> bool:
        """Paths that keep working in 5xx/timeout mode (token endpoints)."""
        return False

    def server_error_body(self) -> dict:
        """The provider's body for an internal error."""
        return {"error": "internal"}

    def not_found_body(self, path: str) -> dict:
        """The provider's body for an unknown path or object."""
        return {"error": f"no route {path}"}

    # --- machinery ------------------------------------------------------------------------------
    def _dispatch(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        path = urlparse(handler.path).path
        record = Recorded(handler.command, path, {k.lower(): v for k, v in handler.headers.items()}, body)
        content_type = handler.headers.get("Content-Type", "")
        if "json" in content_type and body:
            record.json = json.loads(body)
        elif body:
            record.form = dict(parse_qsl(body.decode(), keep_blank_values=True))
        with self.lock:
            self.requests.append(record)
        status, payload, headers, after = 404, self.not_found_body(path), {}, None
        if not self.is_auth_path(path) and self.mode == "timeout":
            time.sleep(self.sleep_seconds)
        if not self.is_auth_path(path) and self.mode == "5xx":
            status, payload = 500, self.server_error_body()
        else:
            for method, pattern, func in self.routes:
                match = pattern.match(path)
                if method == handler.command and match:
                    try:
                        with self.lock:
                            status, payload, *rest = func(record, *match.groups())
                        after = rest[0] if rest else None
                    except Reply as reply:
                        status, payload = reply.status, reply.body
                    break
        if after is not None:  # work a route does outside the lock before answering (calls to other servers)
            after()
        raw = isinstance(payload, Raw)
        data = payload.data if raw else json.dumps(payload).encode()
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", payload.content_type if raw else "application/json")
            handler.send_header("Access-Control-Allow-Origin", "*")   # browser pages call the fakes' scripts' APIs
            handler.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout scenario)
            pass


class running:  # noqa: N801 - used like a function: `with running(FakeStripe()) as fake:`
    """Start a fake for a `with` block (module fixtures), stopping it afterwards."""

    def __init__(self, fake: FakeProvider):
        self.fake = fake

    def __enter__(self) -> FakeProvider:
        return self.fake.start()

    def __exit__(self, *exc) -> None:
        self.fake.stop()

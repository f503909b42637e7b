"""Nodes that agree at once: a change made on one server process is in force on another within a second.

Three real server processes on the test database: node A (`boxoffice serve`) where changes are made, node B
(`gunicorn -w 2`, two worker processes) on the same invalidation channel, and node C (`boxoffice serve`) with
the channel off (`local`), the control: primed just before the change, C still answers from its cache, which
proves B's prompt answer came from the channel and not from its cache expiring. Run with each channel the
database allows: PostgreSQL LISTEN/NOTIFY (PostgreSQL pass) and Redis pub/sub (a Redis of the test's own, both
passes; on SQLite the three processes share the database file). Also: the channel down (Redis stopped, the
PostgreSQL listener's backend terminated) falls back to the caches' 5 s and the listener reconnects.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from conftest import make_tenant
from pg_admin import PG_URL
from procs import (
    OwnRedis,
    ServerProcess,
    boxoffice_command,
    boxoffice_env,
    free_port,
    gunicorn_command,
    operator_headers,
)

from core.invalidation_channels import PG_APPLICATION_NAME

ON_POSTGRES = os.environ.get("BOXOFFICE_DATABASE_URL", "").startswith("postgres")
CHANNELS = ["postgres", "redis"] if ON_POSTGRES else ["redis"]
AGREE_SECONDS = 1.0  # the promise: in force on every node within this
CACHE_SECONDS = 5.0  # how long a process keeps a cached row without the channel (core.memo users)


class Nodes:
    """Node A and B on one channel, control node C without one."""

    def __init__(self, channel: str, a: ServerProcess, b: ServerProcess, c: ServerProcess, redis: OwnRedis | None):
        self.channel, self.a, self.b, self.c, self.redis = channel, a, b, c, redis


@pytest.fixture(scope="module", params=CHANNELS)
def nodes(request, app):
    channel = request.param
    own = OwnRedis().start() if channel == "redis" else None
    extra = {"BOXOFFICE_REDIS_URL": own.url, "BOXOFFICE_QUEUE_NAME": f"nodes-{uuid.uuid4().hex[:8]}"} if own else {}
    env = boxoffice_env(BOXOFFICE_INVALIDATION_CHANNEL=channel, **extra)
    control_env = boxoffice_env(BOXOFFICE_INVALIDATION_CHANNEL="local", **extra)
    ports = [free_port() for _ in range(3)]
    try:
        with contextlib.ExitStack() as stack:
            a = stack.enter_context(ServerProcess(_serve(ports[0]), ports[0], env=env))
            b = stack.enter_context(ServerProcess(gunicorn_command(ports[1], workers=2), ports[1], env=env))
            c = stack.enter_context(ServerProcess(_serve(ports[2]), ports[2], env=control_env))
            yield Nodes(channel, a, b, c, own)
    finally:
        if own is not None:
            own.stop()


def _serve(port: int) -> list[str]:
    return boxoffice_command("serve", "--port", str(port), "--threads", "4")


def _answer(response: requests.Response) -> tuple[int, str]:
    body = response.json() if response.headers.get("Content-Type", "").startswith("application/json") else {}
    return response.status_code, (body.get("type", "") if isinstance(body, dict) else "")


def _worker(response: requests.Response) -> str:
    """The process that answered: the per-process prefix of the request id it made (`core.request_id`)."""
    return response.headers["X-Request-ID"].rsplit("-", 1)[0]


def _on_every_worker(server: ServerProcess, call, expected: tuple[int, str], workers: int) -> None:
    """Send `call` until `workers` different processes answered, each `expected` (primes every worker's cache)."""
    seen: set[str] = set()
    with ThreadPoolExecutor(max_workers=2 * workers) as pool:
        for _ in range(50):  # a batch of requests at once: one idle worker could otherwise take every connection
            for response in pool.map(lambda _i: call(server), range(2 * workers)):
                assert _answer(response) == expected
                seen.add(_worker(response))
            if len(seen) == workers:
                return
    raise AssertionError(f"only {len(seen)} of {workers} workers answered")


def _agree(nodes: Nodes, call, change, before: tuple[int, str], after: tuple[int, str]) -> float:
    """Prime both of B's workers and C with `call`, make `change` on A, and check: C still answers `before` (from
    its cache), B answers `after` within AGREE_SECONDS and so do both its workers, all before any cache primed
    here could have expired. Returns the seconds B took."""
    primed = time.monotonic()
    _on_every_worker(nodes.b, call, before, 2)
    assert _answer(call(nodes.c)) == before
    change(nodes.a)
    changed = time.monotonic()
    assert _answer(call(nodes.c)) == before, "the control node (no channel) should still answer from its cache"
    while _answer(call(nodes.b)) != after:
        assert time.monotonic() - changed < AGREE_SECONDS, f"node B did not agree within {AGREE_SECONDS} s"
        time.sleep(0.02)
    took = time.monotonic() - changed
    _on_every_worker(nodes.b, call, after, 2)
    assert time.monotonic() - primed < CACHE_SECONDS, "too slow to tell the channel from the caches expiring"
    return took


def _tenant(app, plugins=None):
    return make_tenant(app, f"Nodes {secrets.token_hex(3)}", plugins=plugins)


def _operator(server: ServerProcess, method: str, path: str, **kwargs) -> requests.Response:
    response = server.request(method, "/operator" + path, headers=operator_headers(), **kwargs)
    assert response.status_code < 300, response.text
    return response


def test_a_revoked_api_key_is_refused_on_the_other_node_within_a_second(nodes, app):
    tenant = _tenant(app)
    made = _operator(nodes.a, "POST", f"/tenants/{tenant.orgid}/api-keys", json={"name": "door", "role": "staff"})
    key, key_id = made.json()["apiKey"], made.json()["id"]
    exchange = nodes.a.request("POST", "/auth/token", json={"apiKey": key}, headers={"orgid": tenant.orgid})
    token = exchange.json()["token"]

    def direct(server):
        return server.request("GET", "/auth/me", headers={"Authorization": f"Token {key}"})

    def exchanged(server):
        return server.request("GET", "/auth/me", headers={"orgid": tenant.orgid, "Authorization": f"Bearer {token}"})

    _on_every_worker(nodes.b, exchanged, (200, ""), 2)  # the exchanged token's key state is cached too
    _agree(nodes, direct, lambda a: _operator(a, "DELETE", f"/tenants/{tenant.orgid}/api-keys/{key_id}"),
           (200, ""), (401, "api_key_revoked"))
    assert _answer(exchanged(nodes.b)) == (401, "api_key_revoked")


def test_a_deactivated_tenant_is_unknown_on_the_other_node_within_a_second(nodes, app):
    tenant = _tenant(app)

    def browse(server):
        return server.request("GET", "/client/events", headers={"orgid": tenant.orgid})

    _agree(nodes, browse, lambda a: _operator(a, "PATCH", f"/tenants/{tenant.orgid}", json={"active": False}),
           (200, ""), (404, "unknown_org"))


def test_a_disabled_plugin_answers_404_on_the_other_node_within_a_second(nodes, app):
    tenant = _tenant(app, plugins=("offline", "automation"))
    staff = {"orgid": tenant.orgid, "Authorization": f"Bearer {tenant.staff_token}"}

    def endpoints(server):
        return server.request("GET", "/automation/endpoints", headers=staff)

    _agree(nodes, endpoints,
           lambda a: _operator(a, "POST", f"/tenants/{tenant.orgid}/plugins/automation/disable"),
           (200, ""), (404, "plugin_not_enabled"))


def test_ended_customer_sessions_are_refused_on_the_other_node_within_a_second(nodes, app):
    tenant = _tenant(app)
    customer = tenant.customer()
    headers = {"orgid": tenant.orgid, "Authorization": f"Bearer {customer.token}"}

    def profile(server):
        return server.request("GET", "/client/auth/profile", headers=headers)

    def log_out_everywhere(a):
        assert a.request("POST", "/client/auth/logout-all", headers=headers).status_code == 204

    _agree(nodes, profile, log_out_everywhere, (200, ""), (401, "session_revoked"))


def test_a_new_tenant_hostname_serves_on_the_other_node_within_a_second(nodes, app):
    tenant = _tenant(app)
    hostname = f"tickets-{secrets.token_hex(4)}.nodes.example"

    def by_host(server):
        return server.request("GET", "/client/events", headers={"Host": hostname})

    _agree(nodes, by_host, lambda a: _operator(a, "POST", f"/tenants/{tenant.orgid}/domains",
                                               json={"hostname": hostname}),
           (400, "missing_orgid"), (200, ""))


def _wait_for_log(server: ServerProcess, text: str, count: int = 1, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while server.output().count(text) < count:
        assert time.monotonic() < deadline, f"{text!r} not logged {count} time(s):\n{server.output()[-3000:]}"
        time.sleep(0.1)


def test_with_the_channel_down_a_change_arrives_when_the_cache_expires_and_the_listener_reconnects(nodes, app):
    """Redis stopped (or the PostgreSQL listeners' backends ended): B logs it, a revocation on A reaches B only when
    its cache expires (within 5 s); back up, B logs the reconnection and agrees within a second again."""
    tenant = _tenant(app)
    keys = [_operator(nodes.a, "POST", f"/tenants/{tenant.orgid}/api-keys", json={"name": f"k{i}", "role": "staff"})
            .json() for i in range(2)]

    def me(server, made):
        return server.request("GET", "/auth/me", headers={"Authorization": f"Token {made['apiKey']}"})

    downs = nodes.b.output().count("is down")
    assert downs == 0, nodes.b.output()[-3000:]
    backs = nodes.b.output().count("is back")
    if nodes.channel == "redis":
        nodes.redis.stop()
        _wait_for_log(nodes.b, "is down", downs + 1)
    else:
        import psycopg

        with psycopg.connect(PG_URL, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s "
                          "AND datname = %s", [PG_APPLICATION_NAME, _database_name()])
    try:
        primed = time.monotonic()
        _on_every_worker(nodes.b, lambda server: me(server, keys[0]), (200, ""), 2)
        _operator(nodes.a, "DELETE", f"/tenants/{tenant.orgid}/api-keys/{keys[0]['id']}")
        if nodes.channel == "redis":  # no channel: B answers from its caches until they expire
            assert _answer(me(nodes.b, keys[0])) == (200, "")
            refused: set[str] = set()
            while len(refused) < 2:  # each worker refuses once its own cache expired
                assert time.monotonic() - primed < CACHE_SECONDS + 2, "the caches did not expire"
                response = me(nodes.b, keys[0])
                if _answer(response) == (401, "api_key_revoked"):
                    refused.add(_worker(response))
                time.sleep(0.05)
            assert time.monotonic() - primed > AGREE_SECONDS
    finally:
        if nodes.channel == "redis":
            nodes.redis.start()
    _wait_for_log(nodes.b, "is back", backs + 2)  # both gunicorn workers reconnected
    _agree(nodes, lambda server: me(server, keys[1]),
           lambda a: _operator(a, "DELETE", f"/tenants/{tenant.orgid}/api-keys/{keys[1]['id']}"),
           (200, ""), (401, "api_key_revoked"))


def _database_name() -> str:
    return os.environ["BOXOFFICE_DATABASE_URL"].rsplit("/", 1)[-1]

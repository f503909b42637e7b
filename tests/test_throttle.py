"""Throttling: failed logins, registrations of taken e-mails, bad API keys, operator tokens and guest tokens are
counted per client address and per account; past a limit the answer is 429 `rate_limited` with `Retry-After`.
"""

from __future__ import annotations

import secrets

import pytest
import requests
from procs import ServerProcess, boxoffice_env, free_port, gunicorn_command
from test_media import make_event

PER_ADDRESS, PER_ACCOUNT = 5, 3


@pytest.fixture
def low_limits(config, monkeypatch):
    """The session app with small limits (the rest of the suite runs with huge ones)."""
    monkeypatch.setattr(config, "throttle_per_address", f"{PER_ADDRESS}/minute")
    monkeypatch.setattr(config, "throttle_per_account", f"{PER_ACCOUNT}/minute")


def address() -> dict:
    """A client address of its own, so no other test's failures count against this one."""
    return {"environ_base": {"REMOTE_ADDR": f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}."
                                            f"{secrets.randbelow(250) + 1}"}}


def assert_rate_limited(response) -> None:
    body = response.get_json()
    assert response.status_code == 429, body
    assert body["type"] == "rate_limited" and body["code"] == 429
    wait = int(response.headers["Retry-After"])
    assert 1 <= wait <= 60 and body["retryAfter"] == wait


def login(tenant, email, password, where):
    return tenant.guest.post("/client/auth/login", json={"email": email, "password": password}, **where)


def test_failed_logins_per_account_across_addresses(tenant, low_limits):
    fan = tenant.customer(password="correct-horse-9")
    first, second = address(), address()
    for _ in range(PER_ACCOUNT):
        assert login(tenant, fan.email, "wrong-password", first).status_code == 401
    assert_rate_limited(login(tenant, fan.email, "wrong-password", first))
    # Another address and even the right password: the account is throttled, scrypt is not run.
    assert_rate_limited(login(tenant, fan.email.upper(), "correct-horse-9", second))


def test_failed_logins_per_address_and_other_accounts_unaffected(tenant, low_limits):
    fan = tenant.customer(password="correct-horse-9")
    here = address()
    for _ in range(PER_ACCOUNT):
        assert login(tenant, "nobody@example.com", "guess", here).status_code == 401
    # Another account's failures from the same address do not stop a good login, and successes never count.
    for _ in range(PER_ADDRESS + 2):
        assert login(tenant, fan.email, "correct-horse-9", here).status_code == 200
    for n in range(PER_ADDRESS - PER_ACCOUNT):
        assert login(tenant, f"other-{n}@example.com", "guess", here).status_code == 401
    assert_rate_limited(login(tenant, "someone-new@example.com", "guess", here))
    assert login(tenant, fan.email, "correct-horse-9", address()).status_code == 200


def test_password_reset_requests_are_counted_per_email_and_per_address(tenant, low_limits):
    """Every reset request counts (each may send an e-mail), known e-mail or not, so the 429 says nothing either."""
    fan = tenant.customer()
    for email in (fan.email, "nobody-at-all@example.com"):
        for _ in range(PER_ACCOUNT):  # each from an address of its own: the e-mail's count stops it
            assert tenant.guest.post("/client/auth/password-reset", json={"email": email},
                                     **address()).status_code == 202
        assert_rate_limited(tenant.guest.post("/client/auth/password-reset", json={"email": email.upper()},
                                              **address()))
    here = address()
    for n in range(PER_ADDRESS):
        assert tenant.guest.post("/client/auth/password-reset", json={"email": f"x{n}@example.com"},
                                 **here).status_code == 202
    assert_rate_limited(tenant.guest.post("/client/auth/password-reset", json={"email": "new@example.com"}, **here))


def test_guessing_account_link_tokens_is_throttled_per_address(tenant, low_limits):
    """Unknown tokens at the three link routes share one count per address."""
    here = address()
    guesses = [("/client/auth/password-reset/confirm", {"newPassword": "long-enough-1"}),
               ("/client/auth/verify-email", {}), ("/client/auth/email/confirm", {})]
    for n in range(PER_ADDRESS):
        path, extra = guesses[n % 3]
        answer = tenant.guest.post(path, json={"token": f"guess-{n}-" + "x" * 30, **extra}, **here)
        assert answer.status_code == 404 and answer.get_json()["type"] == "invalid_link"
    assert_rate_limited(tenant.guest.post("/client/auth/verify-email", json={"token": "y" * 43}, **here))
    assert tenant.guest.post("/client/auth/verify-email", json={"token": "y" * 43}, **address()).status_code == 404


def test_registering_taken_emails_is_throttled(tenant, low_limits):
    fan = tenant.customer()
    here = address()
    body = {"email": fan.email, "password": "long-enough-1"}
    for _ in range(PER_ACCOUNT):
        assert tenant.guest.post("/client/auth/register", json=body, **here).status_code == 409
    assert_rate_limited(tenant.guest.post("/client/auth/register", json=body, **here))
    fresh = {"email": f"new-{secrets.token_hex(3)}@example.com", "password": "long-enough-1"}
    assert tenant.guest.post("/client/auth/register", json=fresh, **here).status_code == 201


def test_bad_api_keys_per_key_prefix_and_address(tenant, low_limits):
    prefix = tenant.admin_api_key[:10]
    first = address()
    for _ in range(PER_ACCOUNT):
        wrong = {"apiKey": prefix + secrets.token_urlsafe(20)}
        assert tenant.guest.post("/auth/token", json=wrong, **first).status_code == 401
    assert_rate_limited(tenant.guest.post("/auth/token", json={"apiKey": tenant.admin_api_key}, **address()))
    for n in range(PER_ADDRESS - PER_ACCOUNT):
        assert tenant.guest.post("/auth/token", json={"apiKey": f"bo_{n}" + "x" * 20}, **first).status_code == 401
    assert_rate_limited(tenant.guest.post("/auth/token", json={"apiKey": "bo_other" + "y" * 20}, **first))


def test_bad_operator_tokens_per_address(app, config, low_limits):
    client = app.test_client()
    here = address()
    for _ in range(PER_ADDRESS):
        response = client.get("/operator/tenants", headers={"Authorization": "Bearer wrong"}, **here)
        assert response.status_code == 401
    good = {"Authorization": f"Bearer {config.operator_token}"}
    assert_rate_limited(client.get("/operator/tenants", headers=good, **here))
    assert client.get("/operator/tenants", headers=good, **address()).status_code == 200


def test_bad_tokens_on_metrics_count_with_the_operator_api(app, config, low_limits):
    client = app.test_client()
    here = address()
    for _ in range(PER_ADDRESS):
        assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}, **here).status_code == 401
    good = {"Authorization": f"Bearer {config.operator_token}"}
    assert_rate_limited(client.get("/operator/tenants", headers=good, **here))
    assert_rate_limited(client.get("/metrics", headers=good, **here))
    assert client.get("/metrics", headers=good, **address()).status_code == 200


def test_guessing_claim_tokens_and_guest_tokens(tenant, low_limits):
    fan, here = tenant.customer(), address()
    for _ in range(PER_ACCOUNT):
        wrong = fan.post("/client/events/tickets/claim", json={"token": secrets.token_urlsafe(24)}, **here)
        assert wrong.status_code == 404
    assert_rate_limited(fan.post("/client/events/tickets/claim", json={"token": "x" * 30}, **address()))

    tenant.enable("media")
    event = make_event(tenant)
    guest = tenant.staff.post(f"/events/{event.id}/media/guests", json={"name": "Bob"}).get_json()
    gallery = f"/client/events/{event.id}/media/guest/{guest['guestId']}"
    for _ in range(PER_ACCOUNT):
        assert tenant.guest.get(gallery, query_string={"token": "not-it"}, **here).status_code == 403
    assert_rate_limited(tenant.guest.post(f"/client/events/{event.id}/media/upload/{guest['guestId']}",
                                          query_string={"token": guest["token"]}, **address()))


def test_429_is_documented_and_unguarded_routes_are_not_limited(app, tenant, low_limits):
    spec = app.test_client().get("/openapi.json").get_json()
    for path, method in (("/client/auth/login", "post"), ("/auth/token", "post"), ("/operator/tenants", "get"),
                         ("/client/events/tickets/claim", "post")):
        answer = spec["paths"][path][method]["responses"]["429"]
        assert "Retry-After" in answer["headers"]
    assert "429" not in spec["paths"]["/auth/me"]["get"]["responses"]
    here = address()
    for _ in range(PER_ADDRESS * 2):
        assert tenant.guest.get("/auth/me", **here).status_code == 401


def server(env) -> ServerProcess:
    port = free_port()
    return ServerProcess(gunicorn_command(port, workers=1), port, env=env)


def test_unreachable_redis_falls_back_to_counting_in_memory(tenant):
    env = boxoffice_env(BOXOFFICE_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0",
                        BOXOFFICE_THROTTLE_PER_ACCOUNT=f"{PER_ACCOUNT}/minute")
    body = {"email": "target@example.com", "password": "wrong-password"}
    with server(env) as alone:
        answers = [requests.post(alone.url + "/client/auth/login", json=body, headers={"orgid": tenant.orgid},
                                 timeout=30) for _ in range(PER_ACCOUNT + 1)]
    assert [a.status_code for a in answers] == [401] * PER_ACCOUNT + [429]


def test_redis_counts_are_shared_by_two_servers(tenant):
    """Two server processes on one Redis (a key prefix of their own): failures at either count for both."""
    import redis

    prefix = f"throttle-test-{secrets.token_hex(4)}"
    env = boxoffice_env(BOXOFFICE_REDIS_URL="redis://127.0.0.1:6379/0", BOXOFFICE_QUEUE_NAME=prefix,
                        BOXOFFICE_THROTTLE_PER_ACCOUNT=f"{PER_ACCOUNT}/minute")
    body = {"email": "target@example.com", "password": "wrong-password"}
    headers = {"orgid": tenant.orgid}
    try:
        with server(env) as one, server(env) as two:
            answers = [requests.post((one, two)[n % 2].url + "/client/auth/login", json=body, headers=headers,
                                     timeout=30) for n in range(PER_ACCOUNT + 1)]
            assert [a.status_code for a in answers] == [401] * PER_ACCOUNT + [429]
            assert answers[-1].json()["type"] == "rate_limited" and int(answers[-1].headers["Retry-After"]) >= 1
            assert requests.post(one.url + "/client/auth/login", json=body, headers=headers,
                                 timeout=30).status_code == 429
    finally:
        store = redis.Redis.from_url("redis://127.0.0.1:6379/0")
        keys = list(store.scan_iter(f"*{prefix}*"))
        assert keys, "the limiter stored nothing under the deployment's prefix"
        store.delete(*keys)

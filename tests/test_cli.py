"""The `boxoffice` command line, run as the installed console script against the test database.

Covers `tenants create|list|enable|disable|config|api-key|deactivate|activate`, `plugins list`, `db upgrade`
and `run` (the demo: a real server whose printed curl lines must work).
"""

from __future__ import annotations

import io
import os
import re
import secrets
import shlex
import time
from email import policy
from email.parser import BytesParser
from urllib.parse import urlparse, urlunparse

import pytest
import requests
import zxingcpp
from PIL import Image
from procs import ServerProcess, boxoffice_command, boxoffice_env, free_port, run_cli


def _ok(*args):
    result = run_cli(*args)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def _field(output: str, label: str) -> str:
    match = re.search(rf"^\s*{label}:\s+(\S+)", output, re.MULTILINE)
    assert match, f"{label!r} not in output:\n{output}"
    return match.group(1)


def test_tenants_create_shows_the_key_once_and_list_never_does(app):
    name = f"Cli Club {secrets.token_hex(2)}"
    out = _ok("tenants", "create", name, "--timezone", "Europe/Paris")
    orgid, key = _field(out, "orgid"), _field(out, "admin API key")
    assert orgid.startswith("cli-club-") and key.startswith("bo_")
    assert "plugins:        offline" in out and "shown once" in out

    # The printed key really is this tenant's admin key.
    client = app.test_client()
    token = client.post("/auth/token", json={"apiKey": key}, headers={"orgid": orgid})
    assert token.status_code == 200 and token.get_json()["role"] == "admin"

    listing = _ok("tenants", "list")
    line = next(line for line in listing.splitlines() if line.startswith(orgid))
    assert line.split("\t")[1:] == [name, "active", "offline"]
    assert key not in listing


def test_tenants_create_refuses_a_taken_or_bad_orgid():
    orgid = f"cli-fixed-{secrets.token_hex(3)}"
    _ok("tenants", "create", "Fixed", "--org-id", orgid)
    again = run_cli("tenants", "create", "Fixed again", "--org-id", orgid)
    assert again.returncode == 1 and "tenant_exists" in again.stderr
    bad = run_cli("tenants", "create", "Bad", "--org-id", "Bad Id!")
    assert bad.returncode == 1 and "invalid_orgid" in bad.stderr


def test_enable_disable_and_plugins_list(tenant):
    assert _ok("tenants", "disable", tenant.orgid, "offline").strip() == f"offline disabled for {tenant.orgid}"
    overview = _ok("plugins", "list")
    blocks = dict(re.findall(r"^(\w+)\s.*\n\s+enabled for: (.*)$", overview, re.MULTILINE))
    assert {"offline", "stripe"} <= set(blocks)
    assert tenant.orgid not in blocks["offline"]
    _ok("tenants", "enable", tenant.orgid, "offline")
    overview = _ok("plugins", "list")
    assert tenant.orgid in dict(re.findall(r"^(\w+)\s.*\n\s+enabled for: (.*)$", overview, re.MULTILINE))["offline"]


def test_config_masks_secrets_and_errors_are_one_line(tenant):
    secret = "whsec_0123456789abcdefQRST"
    out = _ok("tenants", "config", tenant.orgid, "offline", "instructions=Cash only", f"webhook_secret={secret}")
    assert out.splitlines() == ["instructions=Cash only", "webhook_secret=****QRST"]
    shown = _ok("tenants", "config", tenant.orgid, "offline")
    assert secret not in shown and "webhook_secret=****QRST" in shown
    removed = _ok("tenants", "config", tenant.orgid, "offline", "webhook_secret=")
    assert removed.splitlines() == ["instructions=Cash only"]

    unknown_org = run_cli("tenants", "enable", "no-such-org", "offline")
    assert unknown_org.returncode == 1 and "unknown_org" in unknown_org.stderr
    assert "Traceback" not in unknown_org.stderr
    unknown_plugin = run_cli("tenants", "config", tenant.orgid, "no-such-plugin", "a=b")
    assert unknown_plugin.returncode == 1 and "unknown_plugin" in unknown_plugin.stderr
    not_a_pair = run_cli("tenants", "config", tenant.orgid, "offline", "oops")
    assert not_a_pair.returncode == 2 and "key=value" in not_a_pair.stderr


def test_api_key_and_deactivate(app, tenant, monkeypatch):
    key = _ok("tenants", "api-key", tenant.orgid, "scanner").strip()
    client = app.test_client()
    exchange = client.post("/auth/token", json={"apiKey": key}, headers={"orgid": tenant.orgid})
    assert exchange.status_code == 200 and exchange.get_json()["role"] == "staff"

    key_id, name, role = _ok("tenants", "api-keys", tenant.orgid).splitlines()[0].split("\t")[:3]
    assert (name, role) == ("scanner", "staff")
    token = exchange.get_json()["token"]
    headers = {"orgid": tenant.orgid, "Authorization": f"Bearer {token}"}
    assert client.get("/auth/me", headers=headers).status_code == 200
    assert f"revoked {key_id} (scanner)" in _ok("tenants", "revoke-key", tenant.orgid, key_id)
    # the CLI revoked it in another process: this one sees it at its next re-read (every 5 s; now, here)
    from core import api_keys

    monkeypatch.setattr(api_keys._REVOKED, "seconds", 0.0)
    assert client.get("/auth/me", headers=headers).get_json()["type"] == "api_key_revoked"
    assert _ok("tenants", "api-keys", tenant.orgid).splitlines()[0].split("\t")[-1] != "-"

    _ok("tenants", "deactivate", tenant.orgid)
    assert f"{tenant.orgid}\t{tenant.org.name}\tdisabled" in _ok("tenants", "list")
    _ok("tenants", "activate", tenant.orgid)
    assert f"{tenant.orgid}\t{tenant.org.name}\tactive" in _ok("tenants", "list")


@pytest.fixture
def fresh_database_url(tmp_path):
    """An empty database of the kind the suite runs on (a new SQLite file, or a new PostgreSQL database)."""
    url = os.environ["BOXOFFICE_DATABASE_URL"]
    if not url.startswith("postgres"):
        yield f"sqlite:///{tmp_path}/fresh.db"
        return
    import psycopg

    name = f"boxoffice_cli_{secrets.token_hex(4)}"
    conn = psycopg.connect(url, autocommit=True)
    with conn.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    yield urlunparse(urlparse(url)._replace(path="/" + name))
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    conn.close()


def test_db_upgrade_applies_migrations_once_with_progress(fresh_database_url, tmp_path):
    env = boxoffice_env(BOXOFFICE_DATABASE_URL=fresh_database_url, BOXOFFICE_DATA_DIR=str(tmp_path))
    first = run_cli("db", "upgrade", env=env)
    assert first.returncode == 0, first.stderr
    assert "Migrating" in first.stdout
    assert re.search(r"^applied core 0001 initial$", first.stdout, re.MULTILINE)
    second = run_cli("db", "upgrade", env=env)
    assert second.returncode == 0 and second.stdout.strip() == "Schema is up to date."


def _curl_to_request(line: str) -> tuple[str, str, dict, str | None]:
    """(method, url, headers, body) of a printed `curl -H ... -d ... URL` line."""
    words = shlex.split(line)
    assert words[0] == "curl"
    headers, body, url, i = {}, None, None, 1
    while i < len(words):
        if words[i] == "-H":
            name, _, value = words[i + 1].partition(":")
            headers[name.strip()] = value.strip()
            i += 2
        elif words[i] == "-d":
            body = words[i + 1]
            i += 2
        else:
            url = words[i]
            i += 1
    return ("POST" if body is not None else "GET"), url, headers, body


def test_boxoffice_run_prints_the_demo_and_its_curl_lines_work(tmp_path):
    port = free_port()
    # The embedded default: no database URL, everything in the data folder (PostgreSQL runs keep theirs).
    url = os.environ["BOXOFFICE_DATABASE_URL"]
    env = boxoffice_env(BOXOFFICE_DATA_DIR=str(tmp_path),
                        BOXOFFICE_DATABASE_URL=url if url.startswith("postgres") else None,
                        BOXOFFICE_JOBS_IMMEDIATE=None, BOXOFFICE_SMTP_URL=None, BOXOFFICE_PUBLIC_URL=None)
    with ServerProcess(boxoffice_command("run", "--port", str(port)), port, env=env, cwd=tmp_path) as srv:
        out = srv.output()
        orgid = _field(out, "orgid")
        assert orgid == "demo" and _field(out, "staff token").count(".") == 2
        assert re.search(r"customer login:\s+fan@example.com / \S+", out)
        if url.startswith("sqlite") or not url:
            assert (tmp_path / "boxoffice.db").exists()
        assert srv.request("GET", "/health").json() == {"ok": True}
        curls = [line.strip() for line in out.splitlines() if line.strip().startswith("curl ")]
        assert len(curls) == 3
        for line in curls:
            method, target, headers, body = _curl_to_request(line)
            assert target.startswith(srv.url)
            response = requests.request(method, target, headers=headers, data=body, timeout=30)
            assert response.status_code == 200, f"{line}\n-> {response.status_code} {response.text}"
        _sell_a_ticket_on_the_demo_pages(out, srv.url, tmp_path)


def _sell_a_ticket_on_the_demo_pages(out: str, base_url: str, data_dir) -> None:
    """What a demo visitor does with no provider key and no SMTP server: open the printed attendee pages, take a
    free ticket at checkout, get its e-mail (an .eml in the data folder's outbox), and the staff token admits the
    QR code at the door."""
    pages, event_page = _field(out, "attendee pages"), _field(out, "event page")
    assert pages == f"{base_url}/e/demo/" and event_page == f"{base_url}/e/demo/jazz-night"
    assert "Jazz Night" in requests.get(pages, timeout=30).text
    visitor = requests.Session()
    checkout = visitor.get(event_page + "/checkout", timeout=30)
    assert checkout.status_code == 200 and "Jazz Night" in checkout.text
    free = re.search(r'<label for="(qty\.[^"]+)">\s*<span class="choice-name">Community \(free\)</span>', checkout.text)
    key = re.search(r'name="key" value="([^"]+)"', checkout.text)
    email = f"visitor-{secrets.token_hex(3)}@example.com"
    bought = visitor.post(event_page + "/checkout", timeout=30, data={
        "key": key.group(1), free.group(1): "1", "name": "Demo Visitor", "email": email, "gateway": "offline"})
    assert bought.status_code == 200 and bought.url.startswith(event_page + "/checkout/"), bought.text[:500]
    assert "Your order is confirmed." in bought.text and "1 ticket issued." in bought.text

    outbox = data_dir / "outbox" / "demo"
    deadline = time.monotonic() + 60
    while not (sent := [path for path in outbox.glob("*-tickets_issued-*.eml")]) and time.monotonic() < deadline:
        time.sleep(0.5)  # the in-process worker sends it after the sale commits
    [message] = [BytesParser(policy=policy.default).parsebytes(path.read_bytes()) for path in sent]
    assert message["To"].addresses[0].addr_spec == email and "Jazz Night" in message["Subject"]
    [qr] = [part for part in message.walk() if part.get_content_type() == "image/png"]
    [code] = zxingcpp.read_barcodes(Image.open(io.BytesIO(qr.get_content())))
    staff = _field(out, "staff token")
    admitted = requests.post(f"{base_url}/events/check-in", json={"qrPayload": code.text}, timeout=30,
                             headers={"orgid": "demo", "Authorization": f"Bearer {staff}"})
    assert admitted.status_code == 200, admitted.text

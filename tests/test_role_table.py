"""The role table (issue 19): every route of `/openapi.json` declares the roles it admits (`x-roles`, written by
`core.auth.require_role`), and every route is called by every role, as a signed-in member and as an API key of
that role, and by a customer and a guest: a caller the table admits never gets 401/403, any other signed-in
caller gets 403 `forbidden_role`, a guest 401. A route added without a declaration fails here. A door device's token
(`door_device`) is one more caller, for its own event; a route for signed-in members only (`x-member-sign-in`) refuses
an API key of an admitted role with 403 `member_sign_in_required`."""

from __future__ import annotations

import re
import time

import pytest
from conftest import make_tenant
from test_fuzz_openapi import ALL_PLUGINS
from test_members import login, member
from ticket_factory import make_event

from core.roles import CUSTOMER, DOOR_DEVICE, MEMBER, MEMBER_ROLES

MADE_UP = "00000000-0000-4000-8000-000000000000"
LAST = ("/client/auth/logout-all", "/auth/logout-all")  # end the caller's sessions: last, each with fresh tokens
METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture(scope="module")
def world(app):
    """A tenant with every plugin, a member and an API key (every scope) of each role, and a customer."""
    tenant = make_tenant(app, "Role Table Org")
    callers = {}
    for role in MEMBER_ROLES:
        callers[("member", role)] = member(tenant, f"{role}-member@roles.example", role)
        key = tenant.staff.post("/org/api-keys", json={"name": f"{role} key", "role": role}).get_json()["apiKey"]
        callers[("key", role)] = tenant.guest.as_token(None)
        callers[("key", role)].key = key
    callers[("customer", CUSTOMER)] = tenant.customer()
    event, _ = make_event(tenant, name="Door night")
    owner = member(tenant, "device-owner@roles.example", "door")  # not a caller: a logout-all never ends it
    made = owner.post(f"/events/{event.id}/door-devices", json={"scanPoint": "main"}).get_json()
    callers[("device", DOOR_DEVICE)] = tenant.guest.as_token(made["token"])
    callers[("device", DOOR_DEVICE)].event_id = event.id
    for plugin in ALL_PLUGINS:  # after the invitations, which notifications would e-mail instead of answering
        tenant.enable(plugin)
    return tenant, callers


def sign_in_again(tenant, callers: dict) -> None:
    """New tokens for the members and the customer (after a route that ended their sessions)."""
    for (kind, role), client in callers.items():
        if kind == "member":
            client.token = login(tenant, f"{role}-member@roles.example").get_json()["token"]
        elif kind == "customer":
            client.token = tenant.guest.post("/client/auth/login", json={
                "email": client.email, "password": "correct-horse-9"}).get_json()["token"]


def operations(app) -> list[tuple[str, str, dict]]:
    document = app.test_client().get("/openapi.json").get_json()
    found = [(method, path, {**operation, "parameters": item.get("parameters", []) + operation.get("parameters", [])})
             for path, item in document["paths"].items()
             for method, operation in item.items() if method in METHODS and not path.startswith("/operator/")]
    return sorted(found, key=lambda op: op[1] in LAST)


def admitted(kind: str, role: str, roles: list[str]) -> bool:
    return role in roles or (kind == "member" and MEMBER in roles)


def path_value(operation: dict, name: str, event_id: str | None = None) -> str:
    """A made-up value the route's converter accepts: the first of an enum, 1 for an integer, else a UUID (a door
    device's own event for `event_id`)."""
    if name == "event_id" and event_id is not None:
        return event_id
    schema = next((p.get("schema", {}) for p in operation.get("parameters", [])
                   if p.get("in") == "path" and p.get("name") == name), {})
    if schema.get("enum"):
        return str(schema["enum"][0])
    return "1" if schema.get("type") == "integer" else MADE_UP


def call(client, method: str, path: str, operation: dict, key: str | None = None):
    event_id = getattr(client, "event_id", None) if DOOR_DEVICE in operation.get("x-roles", []) else None
    url = re.sub(r"\{([^}]+)\}", lambda m: path_value(operation, m.group(1), event_id), path)
    headers = {"Authorization": f"Token {key}"} if key else None
    body = {} if method in ("post", "put", "patch") else None
    response = client.request(method.upper(), url, json=body, headers=headers)
    response.get_data()  # a streamed answer (a CSV export) is read and closed here, inside its request
    response.close()
    return response


def test_every_signed_in_route_declares_its_roles(app):
    for method, path, operation in operations(app):
        signed_in = any("bearerAuth" in requirement for requirement in operation.get("security") or [])
        assert signed_in == ("x-roles" in operation), f"{method.upper()} {path}"
        for role in operation.get("x-roles", []):
            assert role in (CUSTOMER, MEMBER, DOOR_DEVICE, *MEMBER_ROLES), f"{method.upper()} {path}: {role}"


def test_every_route_admits_exactly_the_roles_it_declares(app, world):
    tenant, callers = world
    wrong = []
    for method, path, operation in operations(app):
        roles = operation.get("x-roles")
        if roles is None:
            continue
        if path in LAST:
            time.sleep(0.01)  # a token issued after the sessions ended is live
            sign_in_again(tenant, callers)
        guest = call(tenant.guest, method, path, operation)
        if guest.status_code != 401:
            wrong.append(f"{method.upper()} {path} guest: {guest.status_code}")
        for (kind, role), client in callers.items():
            answer = call(client, method, path, operation, getattr(client, "key", None))
            if admitted(kind, role, roles) and kind == "key" and operation.get("x-member-sign-in"):
                if answer.status_code != 403 or answer.get_json()["type"] != "member_sign_in_required":
                    wrong.append(f"{method.upper()} {path} {kind} {role}: {answer.status_code} (members only)")
            elif admitted(kind, role, roles):
                if answer.status_code in (401, 403):
                    wrong.append(f"{method.upper()} {path} {kind} {role}: {answer.status_code} "
                                 f"{answer.get_json().get('type')} (admitted: {roles})")
            elif answer.status_code != 403 or answer.get_json()["type"] != "forbidden_role":
                wrong.append(f"{method.upper()} {path} {kind} {role}: {answer.status_code} (admitted: {roles})")
    assert not wrong, "\n".join(wrong)


def test_the_table_reads_as_designed(app):
    """Spot checks of the groups: members and keys are admin only, selling admits the box office, check-in
    the door, reports the viewer."""
    table = {(method.upper(), path): operation.get("x-roles") for method, path, operation in operations(app)}
    assert table[("GET", "/org/members")] == ["admin"] and table[("POST", "/org/api-keys")] == ["admin"]
    assert table[("POST", "/events/tickets/purchase")] == ["admin", "staff", "box_office"]
    assert table[("POST", "/events/check-in/{ticket_id}/undo")] == ["admin", "staff", "box_office", "door", "officer"]
    assert "viewer" in table[("GET", "/events")] and "door" not in table[("GET", "/events")]
    assert table[("POST", "/events/tickets/{ticket_id}/refund")] == ["admin", "staff"]
    assert table[("POST", "/auth/two-factor/enrol")] == ["member"]
    scanners = ["admin", "staff", "box_office", "door", "officer", "door_device"]
    door_routes = [("POST", "/events/check-in"), ("POST", "/events/check-in/{ticket_id}"),
                   ("POST", "/events/tickets/validate"), ("GET", "/events/scanner/keys"),
                   ("GET", "/events/scanner/rules"), ("GET", "/events/{event_id}/door-bundle"),
                   ("POST", "/events/{event_id}/door-scans")]
    assert all(table[route] == scanners for route in door_routes)
    assert [route for route, roles in table.items() if roles and "door_device" in roles] == sorted(
        door_routes + [("DELETE", "/events/{event_id}/door-devices/{device_id}")], key=list(table).index)
    assert table[("POST", "/events/{event_id}/door-devices")] == ["admin", "staff", "box_office", "door", "officer"]

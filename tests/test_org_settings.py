"""The tenant's own settings over HTTP (`/org/settings`): admins change them, staff read, customers neither;
bad values change nothing; the operator sets participantsVisibility through the same service setter."""

from __future__ import annotations

from core import db as database
from core.models import Org

SETTINGS = "/org/settings"


def staff_only_client(tenant):
    """A client holding a staff (not admin) token of the tenant."""
    from tenants import service

    with database.db.connection_context():
        key = service.create_api_key(Org.get_by_id(tenant.orgid), "door", "staff")
    token = tenant.guest.post("/auth/token", json={"apiKey": key}).get_json()["token"]
    return tenant.guest.as_token(token)


def stored(tenant) -> Org:
    with database.db.connection_context():
        return Org.get_by_id(tenant.orgid)


def test_admin_reads_and_changes_the_settings(tenant):
    before = tenant.staff.get(SETTINGS)
    assert before.status_code == 200
    assert before.get_json() == {"name": "Tenant A", "timezone": "UTC", "holdMinutes": None,
                                 "participantsVisibility": "none", "corsOrigins": [], "embedOrigins": [],
                                 "defaultGateway": None, "posProcessing": "enabled",
                                 "adminsNeedTwoFactor": False, "requireEmailVerification": False}
    changed = tenant.staff.patch(SETTINGS, json={"participantsVisibility": "names", "holdMinutes": 30,
                                                 "timezone": "Europe/Paris", "name": "Tenant A Live"})
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json() == {"name": "Tenant A Live", "timezone": "Europe/Paris", "holdMinutes": 30,
                                  "participantsVisibility": "names", "corsOrigins": [],
                                  "embedOrigins": [], "defaultGateway": None, "posProcessing": "enabled",
                                  "adminsNeedTwoFactor": False, "requireEmailVerification": False}
    assert tenant.staff.get(SETTINGS).get_json() == changed.get_json()  # the org cache was dropped
    org = stored(tenant)
    assert (org.hold_minutes, org.timezone, org.settings["participants_visibility"]) == (30, "Europe/Paris", "names")
    cleared = tenant.staff.patch(SETTINGS, json={"holdMinutes": None})
    assert cleared.get_json()["holdMinutes"] is None and cleared.get_json()["participantsVisibility"] == "names"


def test_staff_read_only_and_customers_and_guests_refused(tenant):
    staff = staff_only_client(tenant)
    assert staff.get(SETTINGS).status_code == 200
    refused = staff.patch(SETTINGS, json={"participantsVisibility": "full"})
    assert refused.status_code == 403 and refused.get_json()["type"] == "forbidden_role"
    customer = tenant.customer()
    assert customer.get(SETTINGS).status_code == 403
    assert customer.patch(SETTINGS, json={"participantsVisibility": "full"}).status_code == 403
    assert tenant.guest.patch(SETTINGS, json={"participantsVisibility": "full"}).status_code == 401
    assert stored(tenant).settings.get("participants_visibility") is None


def test_bad_values_are_422_and_change_nothing(tenant):
    for body in ({"participantsVisibility": "everyone"}, {"holdMinutes": 0}, {"holdMinutes": 1441},
                 {"timezone": "Mars/Olympus"}, {"name": ""}, {"colour": "red"}, {},
                 {"participantsVisibility": "full", "timezone": "Nowhere"},
                 {"participantsVisibility": "full", "unknownKey": 1}):
        response = tenant.staff.patch(SETTINGS, json=body)
        assert response.status_code == 422, (body, response.get_json())
        assert response.get_json()["type"], body
    assert tenant.staff.patch(SETTINGS, data="{", content_type="application/json").status_code == 400
    org = stored(tenant)
    assert (org.name, org.timezone, org.hold_minutes, org.settings or {}) == ("Tenant A", "UTC", None, {})


def test_visibility_change_shows_in_the_participants_list(tenant, other_tenant):
    from test_participation import choose, make_festival, register, ticket_type

    parent, (a, _b, _c) = make_festival(tenant)
    ada = tenant.customer(name="Ada Lovelace")
    register(ada, parent, ticket_type(tenant, parent, isPass=True))
    assert choose(ada, parent, [a]).status_code == 201
    assert ada.get(f"/client/events/{a}/participants").get_json()["type"] == "participants_hidden"
    tenant.staff.patch(SETTINGS, json={"participantsVisibility": "full"})
    assert ada.get(f"/client/events/{a}/participants").get_json()["participants"][0]["email"] == ada.email
    tenant.staff.patch(SETTINGS, json={"participantsVisibility": "none"})
    assert ada.get(f"/client/events/{a}/participants").status_code == 403
    assert other_tenant.staff.get(SETTINGS).get_json()["participantsVisibility"] == "none"  # one tenant only


def test_operator_sets_visibility_through_the_same_setter(tenant, operator):
    path = f"/operator/tenants/{tenant.orgid}"
    changed = operator.patch(path, json={"participantsVisibility": "names"})
    assert changed.status_code == 200, changed.get_json()
    assert tenant.staff.get(SETTINGS).get_json()["participantsVisibility"] == "names"
    assert operator.patch(path, json={"participantsVisibility": "all"}).status_code == 422
    assert stored(tenant).settings["participants_visibility"] == "names"

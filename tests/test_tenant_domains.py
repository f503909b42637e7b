"""Tenants by domain (issue 17, item 4): the operator gives a tenant hostnames (API and CLI); a request whose
`Host` is one needs no `orgid`, an `orgid` that disagrees is refused, another tenant's hostname isolates, unknown
hosts keep the `orgid` rule, and `core.tenancy.tenant_for_host` answers the same from the cached map."""

from __future__ import annotations

from conftest import ApiClient
from procs import run_cli
from ticket_factory import issue, make_event

from core import db as database
from core.models import TenantDomain


def add_domain(operator, tenant, hostname):
    return operator.post(f"/operator/tenants/{tenant.orgid}/domains", json={"hostname": hostname})


def at(tenant, host: str, *, orgid: str | None = None, token: str | None = None) -> ApiClient:
    """A client of the tenant's app sending `Host: host` and no `orgid` (unless given)."""
    client = ApiClient(tenant.app.test_client(), orgid, token)
    client.request = lambda method, path, json=None, headers=None, **kw: client.flask.open(
        path, method=method, json=json, headers=client.headers(headers), base_url=f"http://{host}", **kw)
    return client


def test_operator_gives_a_tenant_hostnames_unique_across_the_deployment(tenant, other_tenant, operator):
    added = add_domain(operator, tenant, f" Tickets.{tenant.orgid.upper()}.Example. ")
    assert added.status_code == 201, added.get_json()
    assert added.get_json()["hostname"] == f"tickets.{tenant.orgid}.example"
    assert added.get_json()["orgId"] == tenant.orgid
    assert add_domain(operator, tenant, f"tickets.{tenant.orgid}.example").status_code == 201  # its own again: harmless
    taken = add_domain(operator, other_tenant, f"TICKETS.{tenant.orgid}.example")
    assert taken.status_code == 409 and taken.get_json()["type"] == "domain_taken"
    for bad in ("tickets.club.example:8443", "https://tickets.club.example", "tickets.club.example/x", "a..b",
                "-bad.example", "under_score.example", "", "x" * 64 + ".example"):
        refused = add_domain(operator, tenant, bad)
        assert refused.status_code == 422 and refused.get_json()["type"] in ("invalid_hostname",
                                                                           "validation_error"), bad
    assert add_domain(operator, tenant, f"second.{tenant.orgid}.example").status_code == 201
    listed = operator.get(f"/operator/tenants/{tenant.orgid}/domains").get_json()
    assert [d["hostname"] for d in listed] == [f"second.{tenant.orgid}.example", f"tickets.{tenant.orgid}.example"]
    assert operator.get(f"/operator/tenants/{other_tenant.orgid}/domains").get_json() == []
    assert add_domain(operator, tenant, f"x.{tenant.orgid}.example").status_code == 201
    assert operator.get("/operator/tenants/no-such-org/domains").get_json()["type"] == "unknown_org"

    gone = operator.delete(f"/operator/tenants/{tenant.orgid}/domains/second.{tenant.orgid}.example")
    assert gone.status_code == 204
    again = operator.delete(f"/operator/tenants/{tenant.orgid}/domains/second.{tenant.orgid}.example")
    assert again.status_code == 404 and again.get_json()["type"] == "unknown_domain"
    foreign = operator.delete(f"/operator/tenants/{other_tenant.orgid}/domains/tickets.{tenant.orgid}.example")
    assert foreign.status_code == 404
    with database.db.connection_context():
        assert TenantDomain.select().where(TenantDomain.hostname == f"tickets.{tenant.orgid}.example").count() == 1
    assert tenant.guest.post(f"/operator/tenants/{tenant.orgid}/domains", json={"hostname": f"y.{tenant.orgid}.example"}
                             ).status_code == 401  # the operator's only


def test_a_request_to_a_tenants_hostname_needs_no_orgid(tenant, other_tenant, operator):
    assert add_domain(operator, tenant, f"tickets.{tenant.orgid}.example").status_code == 201
    assert add_domain(operator, other_tenant, f"tickets.{other_tenant.orgid}.example").status_code == 201
    event, ticket_type = make_event(tenant, name="Club Night")
    make_event(other_tenant, name="Rival Night")

    club = at(tenant, f"Tickets.{tenant.orgid.upper()}.Example:8443")  # case and port do not matter
    names = [e["name"] for e in club.get("/client/events").get_json()["data"]]
    assert names == ["Club Night"]
    registered = club.post("/client/auth/register", json={"email": "fan@example.com", "password": "correct-horse-9",
                                                           "username": "fan"})
    assert registered.status_code == 201, registered.get_json()
    token = registered.get_json()["token"]
    me = at(tenant, f"tickets.{tenant.orgid}.example", token=token)
    assert me.get("/client/auth/profile").get_json()["username"] == "fan"
    with_orgid = at(tenant, f"tickets.{tenant.orgid}.example", orgid=tenant.orgid, token=token)
    assert with_orgid.get("/client/auth/profile").status_code == 200  # an agreeing orgid is fine

    # an orgid that disagrees is refused, and changes nothing
    clash = at(tenant, f"tickets.{tenant.orgid}.example", orgid=other_tenant.orgid)
    refused = clash.post("/client/auth/register", json={"email": "x@example.com", "password": "correct-horse-9"})
    assert refused.status_code == 403 and refused.get_json()["type"] == "org_mismatch"
    assert at(tenant, f"tickets.{tenant.orgid}.example", orgid="no-such-org").get("/client/events").status_code == 403

    # another tenant's hostname isolates: its events, and this tenant's token is refused there
    rival = at(tenant, f"tickets.{other_tenant.orgid}.example")
    assert [e["name"] for e in rival.get("/client/events").get_json()["data"]] == ["Rival Night"]
    crossing = at(tenant, f"tickets.{other_tenant.orgid}.example", token=token).get("/client/auth/profile")
    assert crossing.status_code == 403 and crossing.get_json()["type"] == "org_mismatch"
    assert rival.get(f"/client/events/{event.id}").status_code == 404
    (ticket,) = issue(tenant, ticket_type)
    rival_staff = at(tenant, f"tickets.{other_tenant.orgid}.example", token=tenant.admin_api_key)  # a key of the club
    assert rival_staff.get(f"/events/tickets/{ticket.id}").get_json()["type"] == "org_mismatch"
    club_staff = at(tenant, f"tickets.{tenant.orgid}.example", token=tenant.admin_api_key)
    assert club_staff.get(f"/events/tickets/{ticket.id}").status_code == 200

    # unknown hosts keep today's rule: the orgid header is needed
    unknown = at(tenant, "elsewhere.example")
    assert unknown.get("/client/events").get_json()["type"] == "missing_orgid"
    assert at(tenant, "elsewhere.example", orgid=tenant.orgid).get("/client/events").status_code == 200

    # a removed hostname needs the orgid again (this process forgets its map at once)
    removed = operator.delete(f"/operator/tenants/{tenant.orgid}/domains/tickets.{tenant.orgid}.example")
    assert removed.status_code == 204
    assert club.get("/client/events").get_json()["type"] == "missing_orgid"


def test_an_inactive_tenants_hostname_is_unknown_org(tenant, operator):
    assert add_domain(operator, tenant, f"closed.{tenant.orgid}.example").status_code == 201
    assert operator.patch(f"/operator/tenants/{tenant.orgid}", json={"active": False}).status_code == 200
    closed = at(tenant, f"closed.{tenant.orgid}.example").get("/client/events")
    assert closed.status_code == 404 and closed.get_json()["type"] == "unknown_org"


def test_tenant_for_host_is_the_public_lookup(app, tenant, operator):
    from core.tenancy import tenant_for_host

    assert add_domain(operator, tenant, f"pay.{tenant.orgid}.example").status_code == 201
    with app.app_context(), database.db.connection_context():
        assert tenant_for_host(f"PAY.{tenant.orgid}.example:443").id == tenant.orgid
        assert tenant_for_host(f"pay.{tenant.orgid}.example").id == tenant.orgid
        assert tenant_for_host("other.example") is None
        assert tenant_for_host("") is None and tenant_for_host(None) is None


def test_the_cli_adds_lists_and_removes_hostnames(tenant):
    from core.tenancy import forget_domains

    added = run_cli("tenants", "add-domain", tenant.orgid, f"CLI.{tenant.orgid}.Example")
    assert added.returncode == 0, added.stdout + added.stderr
    assert added.stdout.strip() == f"cli.{tenant.orgid}.example -> {tenant.orgid}"
    assert run_cli("tenants", "domains", tenant.orgid).stdout.split() == [f"cli.{tenant.orgid}.example"]
    bad = run_cli("tenants", "add-domain", tenant.orgid, f"cli.{tenant.orgid}.example:80")
    assert bad.returncode == 1 and "invalid_hostname" in bad.stdout + bad.stderr
    forget_domains()  # the CLI changed it in another process: this one sees it at its next re-read (5 s; now)
    assert [e["name"] for e in at(tenant, f"cli.{tenant.orgid}.example").get("/client/events").get_json()["data"]] == []
    removed = run_cli("tenants", "remove-domain", tenant.orgid, f"cli.{tenant.orgid}.example")
    assert removed.returncode == 0 and run_cli("tenants", "domains", tenant.orgid).stdout == ""
    forget_domains()
    assert at(tenant, f"cli.{tenant.orgid}.example").get("/client/events").get_json()["type"] == "missing_orgid"


def test_public_page_links_use_the_tenants_own_hostname_without_the_org_segment(tenant, other_tenant, operator,
                                                                             config):
    event, _ = make_event(tenant)
    before = tenant.staff.get(f"/events/{event.id}").get_json()["data"]
    assert before["site_url"] == f"{config.public_url}/e/{tenant.orgid}/{before['slug']}"
    assert add_domain(operator, tenant, f"tickets.{tenant.orgid}.example").status_code == 201
    assert add_domain(operator, tenant, f"alpha.{tenant.orgid}.example").status_code == 201  # first in order
    shown = tenant.staff.get(f"/events/{event.id}").get_json()["data"]
    scheme = config.public_url.split("://")[0]
    assert shown["site_url"] == f"{scheme}://alpha.{tenant.orgid}.example/e/{before['slug']}"
    assert shown["checkout_url"] == shown["site_url"] + "/checkout"
    other_event, _ = make_event(other_tenant)   # a tenant without a hostname keeps the org segment
    assert other_tenant.staff.get(f"/events/{other_event.id}").get_json()["data"]["site_url"].startswith(
        f"{config.public_url}/e/{other_tenant.orgid}/")
    for hostname in ("alpha", "tickets"):
        removed = operator.delete(f"/operator/tenants/{tenant.orgid}/domains/{hostname}.{tenant.orgid}.example")
        assert removed.status_code == 204
    after = tenant.staff.get(f"/events/{event.id}").get_json()["data"]
    assert after["site_url"] == before["site_url"]

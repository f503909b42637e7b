"""Standing guard (issue 13): Schemathesis fuzzes every operation of the app's own /openapi.json.

Each operation gets `EXAMPLES_PER_OPERATION` generated cases (valid and invalid ones, from Schemathesis'
positive and negative modes), sent to the in-process WSGI app with a tenant's staff token and again with one of
its customers' tokens; the /operator operations get theirs with the operator token. Two checks run on every
answer: no 5xx (`not_a_server_error`) and the body matches the response the document gives for that status
(`response_schema_conformance`). Every case is checked; the test fails listing each offending caller and
operation with its first cases (the request as a curl command).

Bounded and repeatable: hypothesis runs derandomized (the same cases every run, on every machine) with its
example database off, so a failure reproduces by running this file again. Path ids are half the time the ids of
records seeded here (see `Seeded`), so the fuzzer reaches the code behind a found record, not only the 404 for
a random id. docs/architecture.md ("Guards on the contract") says how to run and read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
import schemathesis
from conftest import make_tenant
from flask import Flask, request
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import response_schema_conformance
from ticket_factory import issue, make_event
from wallet_certs import configure_wallet

EXAMPLES_PER_OPERATION = 20
CASES_SHOWN_PER_OPERATION = 3
CHECKS = [not_a_server_error, response_schema_conformance]
# These end the caller's sessions (a customer's token stops working after them): fuzzed after every other one.
SESSION_ENDING = ("POST /client/auth/logout-all", "POST /client/auth/password")
ALL_PLUGINS = ("offline", "media", "notifications", "automation", "stripe", "paypal", "storefront", "public_api_v2",
               "club_cart", "cybersource", "developers_api", "resale")
FUZZ_SETTINGS = settings(max_examples=EXAMPLES_PER_OPERATION, derandomize=True, database=None, deadline=None,
                         phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck),
                         print_blob=False)
# The token is ours to send: without this the fuzzer would drop or garble the Authorization header.
FUZZ_CONFIG = schemathesis.Config.from_dict({"generation": {"with-security-parameters": False}})


class Seeded:
    """A tenant with every plugin on and a record of each kind a path names, made through the API where one
    exists (tickets valid, refunded and waiting for activation; bookings confirmed and held); `ids` maps a path
    parameter's name to the ids it may take."""

    def __init__(self, app):
        from core import db as database
        from core.models import Event, Venue
        from core.services.pickups import pickups_of_ticket
        from core.services.ticket_pdf import PDF_LINK_PATH, pdf_link
        from core.services.wallet_passes import WALLET_LINK_PATH, wallet_link

        self.tenant = tenant = make_tenant(app, "Fuzz Org", plugins=ALL_PLUGINS)
        self.customer = tenant.customer()
        event, ticket_type = make_event(tenant)
        pickup_type = tenant.staff.post("/pickup-types", json={"name": "T-shirt"}).get_json()["data"]
        tenant.staff.patch(f"/events/ticket-types/{ticket_type.id}",
                           json={"pickups": [{"pickupTypeId": pickup_type["id"]}]})
        tickets = issue(tenant, ticket_type, 3) + issue(tenant, ticket_type, 1, email=self.customer.email,
                                                        customer_id=self.customer.customer_id)
        with database.db.connection_context():
            venue = Venue.create(org=tenant.orgid, name="Fuzz Hall", capacity=100)
            numeric_event_id = str(Event.get_by_id(event.id).public_id)  # public_api_v2's path id
        staff = tenant.staff
        refund = staff.post(f"/events/tickets/{tickets[2].id}/refund", json={}).get_json()["refund"]
        product = staff.post("/storefront/products", json={
            "name": "Mug", "variants": [{"price": "9", "currency": "USD"}]}).get_json()["data"]
        promotion = staff.post("/storefront/promotions",
                               json={"code": "FUZZ", "kind": "percentage", "value": 10}).get_json()["data"]
        card = staff.post("/storefront/gift-cards", json={"amount": 10, "currency": "USD"}).get_json()["data"]
        rate = staff.post("/storefront/tax-rates", json={"name": "VAT", "rate": 20}).get_json()["data"]
        job = staff.post("/storefront/backfill").get_json()
        guest = staff.post(f"/events/{event.id}/media/guests", json={"name": "Aunt May"}).get_json()
        door = staff.post("/events/tickets/pre-generate", json={"eventId": event.id, "ticketTypeId": ticket_type.id,
                                                                "quantity": 2}).get_json()["tickets"]
        held = self.customer.post("/client/events/tickets/purchase", json={
            "eventId": event.id, "paymentGateway": "offline",
            "items": [{"ticketTypeId": ticket_type.id, "quantity": 1}]}).get_json()
        messages = staff.get("/notifications/messages").get_json()["data"]
        taxonomy = {f"{kind}_id": [staff.post(f"/{plural}", json={"name": f"Fuzz {kind}"}).get_json()["data"]["id"]]
                    for kind, plural in (("category", "categories"), ("tag", "tags"), ("campaign", "campaigns"),
                                         ("calendar", "calendars"))}
        configuration = staff.post("/ticket-configurations", json={"name": "Fuzz config"}).get_json()["data"]
        with app.app_context():   # a ticket's PDF and Apple Wallet download links, as its e-mail carries them
            pdf_token = pdf_link(tenant.org, tickets[0]).split(PDF_LINK_PATH, 1)[1]
            wallet_token = wallet_link(tenant.org, tickets[0]).split(WALLET_LINK_PATH, 1)[1]
        wallet_template = configure_wallet(tenant)   # a pass certificate and a default template
        staff.post(f"/ticket-configurations/{configuration['id']}/barcodes", data=b"FUZZ-0001\nFUZZ-0002\n",
                   content_type="text/csv")
        barcodes = staff.get(f"/ticket-configurations/{configuration['id']}/barcodes").get_json()["data"]
        permanent = staff.post("/permanent-lists", json={"name": "Members"}).get_json()["data"]
        event_list = staff.post(f"/events/{event.id}/lists", json={
            "name": "VIP", "permanent_list_id": permanent["id"]}).get_json()["data"]
        self.ids = {
            "event_id": [event.id, numeric_event_id],
            "ticket_type_id": [ticket_type.id],
            "record_id": [ticket_type.id],
            "ticket_id": [ticket.id for ticket in tickets] + [ticket["id"] for ticket in door],
            "booking_id": [tickets[0].booking_id, tickets[-1].booking_id, held["bookingId"]],
            "message_id": [message["id"] for message in messages],
            "gateway": ["stripe", "paypal", "offline"],
            "refund_id": [refund["id"]],
            "venue_id": [venue.id],
            "product_id": [product["id"]],
            "variant_id": [product["variants"][0]["id"]],
            "promotion_id": [promotion["id"]],
            "card_id": [card["id"]],
            "rate_id": [rate["id"]],
            "job_id": [job["jobId"]],
            "guest_id": [guest["guestId"]],
            "org_id": [tenant.orgid],
            "configuration_id": [configuration["id"]],
            "pdf_token": [pdf_token],
            "barcode_id": [row["id"] for row in barcodes],
            "plugin": list(ALL_PLUGINS),
            **taxonomy,
            "pickup_type_id": [pickup_type["id"]],
            "pickup_id": [pickup.id for ticket in tickets for pickup in pickups_of_ticket(ticket)],
            "list_id": [event_list["id"]],
            "permanent_list_id": [permanent["id"]],
            "template_id": [wallet_template["id"]],
            "wallet_template_id": [str(wallet_template["public_id"])],
            "wallet_token": [wallet_token],
            "slot": ["icon", "logo"],
        }


@pytest.fixture(scope="module")
def seeded(app) -> Seeded:
    """The fuzz tenant and its records (one per module: each run sees what the one before left)."""
    return Seeded(app)


@pytest.fixture(scope="module")
def fuzz_schema(app):
    """The app's /openapi.json as Schemathesis sees it, bound to the in-process WSGI app."""
    return schemathesis.openapi.from_wsgi("/openapi.json", app, config=FUZZ_CONFIG)


def _operations(schema) -> list:
    """Every operation of the document, in its order, with the session-ending ones moved last."""
    operations = [result.ok() for result in schema.get_all_operations()]
    return sorted(operations, key=lambda operation: operation.label in SESSION_ENDING)


def _strategy(operation):
    modes = [operation.as_strategy(generation_mode=mode) for mode in (GenerationMode.POSITIVE,
                                                                       GenerationMode.NEGATIVE)]
    return st.one_of(modes)


@dataclass
class FuzzReport:
    """What a run sent and what failed, by caller and operation (`staff: GET /venues/{venue_id}`)."""

    operations: int = 0
    cases: int = 0  # generated cases; each is sent once per caller
    requests: int = 0
    failing: dict[str, list[str]] = field(default_factory=dict)

    def summary(self) -> str:
        """One line of figures."""
        return (f"fuzzed {self.operations} operations: {self.cases} cases, {self.requests} requests, "
                f"{len(self.failing)} failing (caller, operation) pairs")

    def problems(self) -> str:
        """Each failing operation with its first cases (what failed, the answer, a curl command to replay)."""
        return "\n\n".join(f"{where}: {len(cases)} failing case(s)\n" + "\n".join(cases[:CASES_SHOWN_PER_OPERATION])
                           for where, cases in self.failing.items())


def send(case, headers: dict) -> str | None:
    """Send `case` with the caller's `headers`; what the checks found wrong with the answer, or None."""
    try:
        response = case.call(headers=headers)
    except Exception as exc:  # raised out of the app: a 500 from any server; its note has the curl command
        return f"Server error: the app raised {exc!r}\n" + "\n".join(getattr(exc, "__notes__", []))
    try:
        case.validate_response(response, checks=CHECKS, headers=headers)
    except FailureGroup as group:
        return str(group).strip()
    return None


def fuzz_operation(operation, callers: dict[str, dict], ids: dict) -> tuple[int, dict[str, list[str]]]:
    """Send `EXAMPLES_PER_OPERATION` generated cases of `operation`, each as every caller (name -> headers);
    return how many cases ran and what failed, by caller.

    Every case runs (a failure is recorded, not raised, so hypothesis neither stops nor shrinks): the report
    lists all failing cases, and derandomized generation sends the same ones again on the next run."""
    failures: dict[str, list[str]] = {}
    count = 0

    @FUZZ_SETTINGS
    @given(case=_strategy(operation), data=st.data())
    def run(case, data):
        nonlocal count
        count += 1
        for name in list(case.path_parameters or {}):
            if ids.get(name) and data.draw(st.booleans()):
                case.path_parameters[name] = data.draw(st.sampled_from(ids[name]))
        for who, headers in callers.items():
            problem = send(case, headers)
            if problem:
                failures.setdefault(who, []).append(problem)

    run()
    return count, failures


def fuzz(operations: list, callers: dict[str, dict], ids: dict) -> FuzzReport:
    """Fuzz each operation in turn as every caller."""
    report = FuzzReport(operations=len(operations))
    for operation in operations:
        count, failures = fuzz_operation(operation, callers, ids)
        report.cases += count
        report.requests += count * len(callers)
        for who, cases in failures.items():
            report.failing[f"{who}: {operation.label}"] = cases
    return report


def assert_clean(report: FuzzReport) -> None:
    """Fail listing every failing caller and operation (the figures go to stdout: `pytest -s` shows them)."""
    print("\n" + report.summary())
    if report.failing:
        pytest.fail(report.summary() + "\n\n" + report.problems(), pytrace=False)


def _is_operator_route(operation) -> bool:
    return any("operatorToken" in requirement for requirement in operation.definition.raw.get("security", []))


def test_every_operation_as_staff_and_as_customer(seeded, fuzz_schema):
    """Each generated case goes out twice, with the staff token and with the customer's (one generation, two
    callers: generating is most of the cost)."""
    tenant = seeded.tenant
    callers = {who: {"orgid": tenant.orgid, "Authorization": f"Bearer {token}"}
               for who, token in (("staff", tenant.staff_token), ("customer", seeded.customer.token))}
    assert_clean(fuzz(_operations(fuzz_schema), callers, seeded.ids))


def test_operator_operations_with_the_operator_token(app, seeded, fuzz_schema):
    """The operator token opens the /operator routes only; elsewhere it is no tenant's token (401, as the staff
    and customer run already meets on every operator route)."""
    operations = [operation for operation in _operations(fuzz_schema) if _is_operator_route(operation)]
    callers = {"operator": {"Authorization": f"Bearer {app.config['BOXOFFICE'].operator_token}"}}
    assert_clean(fuzz(operations, callers, seeded.ids))


BROKEN_DOCUMENT = {
    "openapi": "3.0.3",
    "info": {"title": "broken", "version": "1"},
    "paths": {
        "/crash": {"get": {
            "parameters": [{"in": "query", "name": "n", "required": True, "schema": {"type": "integer"}}],
            "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {
                "type": "object", "properties": {"n": {"type": "integer"}}}}}}}}},
        "/error": {"get": {"responses": {"200": {"description": "OK"}}}},
        "/wrong": {"get": {"responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {
            "type": "object", "properties": {"count": {"type": "integer"}}, "required": ["count"]}}}}}}},
        "/fine": {"get": {"responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {
            "type": "object", "properties": {"ok": {"type": "boolean"}}}}}}}}},
    },
}


def test_the_guard_reports_each_server_error_and_each_body_unlike_its_document():
    """The guard itself: an app that raises on some input, answers 500, and answers a body its document does not
    allow fails the pass, naming those three operations and not the sound one."""
    broken = Flask("broken")

    @broken.get("/crash")
    def crash():
        return {"n": 100 // (int(request.args["n"]) - 3)}  # ZeroDivisionError for 3, ValueError for "x"

    @broken.get("/error")
    def error():
        return {"message": "Internal Server Error"}, 500

    @broken.get("/wrong")
    def wrong():
        return {"count": "three"}

    @broken.get("/fine")
    def fine():
        return {"ok": True}

    schema = schemathesis.openapi.from_dict(BROKEN_DOCUMENT, config=FUZZ_CONFIG)
    schema.app = broken
    report = fuzz(_operations(schema), {"anyone": {}}, {})
    assert (report.operations, report.requests) == (4, report.cases)
    assert sorted(report.failing) == ["anyone: GET /crash", "anyone: GET /error", "anyone: GET /wrong"]
    assert "Server error: the app raised" in report.failing["anyone: GET /crash"][0]
    assert "Server error" in report.failing["anyone: GET /error"][0] and len(report.failing["anyone: GET /error"]) == 1
    assert "Response violates schema" in report.failing["anyone: GET /wrong"][0]
    assert "curl" in report.problems()

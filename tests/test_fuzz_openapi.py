"""Standing guard (issue 13): Schemathesis fuzzes every operation of the app's own /openapi.json.

Each operation gets `EXAMPLES_PER_OPERATION` generated requests per token (valid and invalid ones, from
Schemathesis' positive and negative modes), sent to the in-process WSGI app with a tenant's staff token and
with one of its customers' tokens. Two checks run on every answer: no 5xx (`not_a_server_error`) and the body
matches the response the document gives for that status (`response_schema_conformance`). Every case is
checked; the test fails listing each offending operation with its first cases (the request as a curl command).

Bounded and repeatable: hypothesis runs derandomized (the same cases every run, on every machine) with its
example database off, so a failure reproduces by running this file again. Path ids are half the time the ids of
records seeded here (an event, a ticket type, a venue, a booking, tickets, the tenant itself), so the fuzzer
reaches the code behind a found record, not only the 404 for a random id.
"""

from __future__ import annotations

import pytest
import schemathesis
from conftest import make_tenant
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import response_schema_conformance
from ticket_factory import issue, make_event

EXAMPLES_PER_OPERATION = 20
CASES_SHOWN_PER_OPERATION = 3
CHECKS = [not_a_server_error, response_schema_conformance]
# These end the caller's sessions (a customer's token stops working after them): fuzzed after every other one.
SESSION_ENDING = ("POST /client/auth/logout-all", "POST /client/auth/password")
ALL_PLUGINS = ("offline", "media", "notifications", "automation", "stripe", "paypal", "storefront")
FUZZ_SETTINGS = settings(max_examples=EXAMPLES_PER_OPERATION, derandomize=True, database=None, deadline=None,
                         phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck),
                         print_blob=False)


class Seeded:
    """Records made for the fuzz tenant, by the path parameter names that take their ids."""

    def __init__(self, app):
        from core.models import Venue

        self.tenant = make_tenant(app, "Fuzz Org", plugins=ALL_PLUGINS)
        self.customer = self.tenant.customer()
        event, ticket_type = make_event(self.tenant)
        tickets = issue(self.tenant, ticket_type, 2) + issue(self.tenant, ticket_type, 1, email=self.customer.email,
                                                             customer_id=self.customer.customer_id)
        from core import db as database

        with database.db.connection_context():
            venue = Venue.create(org=self.tenant.orgid, name="Fuzz Hall", capacity=100)
        self.ids = {
            "event_id": [event.id],
            "ticket_type_id": [ticket_type.id],
            "record_id": [ticket_type.id],
            "ticket_id": [ticket.id for ticket in tickets],
            "booking_id": [tickets[0].booking_id],
            "venue_id": [venue.id],
            "org_id": [self.tenant.orgid],
            "plugin": list(ALL_PLUGINS),
        }


@pytest.fixture(scope="module")
def seeded(app) -> Seeded:
    """A tenant with every plugin on and a few records for path ids to name."""
    return Seeded(app)


@pytest.fixture(scope="module")
def fuzz_schema(app):
    """The app's /openapi.json as Schemathesis sees it, bound to the in-process WSGI app."""
    # The token is ours to send (the fuzzer would otherwise drop or garble the Authorization header).
    config = schemathesis.Config.from_dict({"generation": {"with-security-parameters": False}})
    return schemathesis.openapi.from_wsgi("/openapi.json", app, config=config)


def _operations(schema) -> list:
    """Every operation of the document, in its order, with the session-ending ones moved last."""
    operations = [result.ok() for result in schema.get_all_operations()]
    return sorted(operations, key=lambda operation: operation.label in SESSION_ENDING)


def _strategy(operation):
    modes = [operation.as_strategy(generation_mode=mode) for mode in (GenerationMode.POSITIVE,
                                                                       GenerationMode.NEGATIVE)]
    return st.one_of(modes)


def fuzz_operation(operation, headers: dict, ids: dict) -> tuple[int, list[str]]:
    """Send `EXAMPLES_PER_OPERATION` generated cases of `operation`; return how many ran and what failed."""
    failures: list[str] = []
    count = 0

    @FUZZ_SETTINGS
    @given(case=_strategy(operation), data=st.data())
    def run(case, data):
        nonlocal count
        count += 1
        for name in list(case.path_parameters or {}):
            if name in ids and data.draw(st.booleans()):
                case.path_parameters[name] = data.draw(st.sampled_from(ids[name]))
        response = case.call(headers=headers)
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except FailureGroup as group:
            failures.append(str(group).strip())

    run()
    return count, failures


@pytest.mark.parametrize("who", ["staff", "customer"])
def test_no_server_error_and_every_answer_as_documented(seeded, fuzz_schema, who):
    tenant = seeded.tenant
    token = tenant.staff_token if who == "staff" else seeded.customer.token
    headers = {"orgid": tenant.orgid, "Authorization": f"Bearer {token}"}
    found: dict[str, list[str]] = {}
    total = 0
    operations = _operations(fuzz_schema)
    for operation in operations:
        count, failures = fuzz_operation(operation, headers, seeded.ids)
        total += count
        if failures:
            found[operation.label] = failures
    print(f"\nfuzzed {len(operations)} operations as {who}: {total} cases, {len(found)} failing")
    if found:
        report = [f"{label}: {len(cases)} failing case(s)\n" + "\n".join(cases[:CASES_SHOWN_PER_OPERATION])
                  for label, cases in found.items()]
        pytest.fail(f"{len(found)} of {len(operations)} operations failed as {who}:\n\n" + "\n\n".join(report),
                    pytrace=False)

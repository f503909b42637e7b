"""The roles a tenant's members and API keys hold, and the groups of them that routes admit, defined once.

Pure names: routes declare one of these groups with `core.auth.require_role`, which checks it and writes it into
the operation's OpenAPI (`x-roles`). Never reads a request or the database.
"""

from __future__ import annotations

CUSTOMER = "customer"  # an attendee account's token (not a member role)
ADMIN = "admin"  # everything: events, sales, refunds, settings, members and API keys
STAFF = "staff"  # events, sales, refunds (no members, API keys or organisation settings)
BOX_OFFICE = "box_office"  # sell at the box office, mark paid, check in
DOOR = "door"  # check in and validate only (and look a ticket up)
OFFICER = "officer"  # the club role (004): view the club's tickets, check in, set attendance
VIEWER = "viewer"  # read-only: lists and reports
MEMBER = "member"  # not a role: "any signed-in member of this tenant, whatever its role" (own two-factor)
TOTP_ENROLMENT = "totp_enrolment"  # a restricted member token that may only enrol two-factor
DOOR_DEVICE = "door_device"  # a door device's token: the door routes, for the one event it was issued for

# What a member or an API key may be, in display order.
MEMBER_ROLES = (ADMIN, STAFF, BOX_OFFICE, DOOR, OFFICER, VIEWER)

# The groups routes admit (each includes admin: an admin may do everything).
ADMINS = (ADMIN,)
MANAGERS = (ADMIN, STAFF)  # change events and the catalogue, refund, cancel, transfer, settings of plugins
SELLERS = (*MANAGERS, BOX_OFFICE)  # box-office sales and payments
DOOR_STAFF = (*SELLERS, DOOR, OFFICER)  # check-in, validate, the scanner's keys and rules
SCANNERS = (*DOOR_STAFF, DOOR_DEVICE)  # the door routes a door device may call too (its own event only)
READERS = (*SELLERS, VIEWER)  # read-only lists and reports
TICKET_READERS = (*READERS, DOOR, OFFICER)  # look one ticket (or an event's tickets) up at the door
EVERYONE = (CUSTOMER, *MEMBER_ROLES)  # any signed-in caller

ROLE_DOCS = {
    ADMIN: "everything, including members, API keys and the organisation's settings",
    STAFF: "events, catalogue, sales, refunds, cancellations and transfers",
    BOX_OFFICE: "sell at the box office (and mark paid), check in, read lists and reports",
    DOOR: "check in and validate tickets, look a ticket up",
    OFFICER: "the club's door role: view tickets, check in, set attendance",
    VIEWER: "read-only lists and reports",
    DOOR_DEVICE: "a door device's token (not a member role): check-in, validate, the scanner's keys and rules, "
                 "the door bundle and scan uploads, for the one event it was issued for",
}

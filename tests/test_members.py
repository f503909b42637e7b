"""Staff members (issue 19 parts 1-2) through the HTTP API: an admin invites by e-mail, the link is accepted once
(refused after expiry, revocation or reuse), the member signs in at POST /auth/login and acts with their role,
a role change or removal holds from the next request, the last admin is protected (also when two admins race),
one person joins several tenants with their own password, two-factor (TOTP) sign-in and the tenant's demand of
it for admins, the operator invites a tenant's first admin, members of one tenant are invisible to another."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pyotp
import pytest
import requests
from smtp_server import SmtpServer
from ticket_factory import issue, make_event

from core import db as database
from core.kits.links import token_hash
from core.models import AuditEntry, Member, MemberInvite, Membership
from core.services import qr

INVITES = "/org/members/invites"
PASSWORD = "long-enough-pw-1"


def invite(tenant, email: str, role: str = "staff", client=None) -> dict:
    answer = (client or tenant.staff).post(INVITES, json={"email": email, "role": role})
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def accept(tenant, token: str, password: str = PASSWORD, name: str = "Sam Staff"):
    return tenant.guest.post(f"{INVITES}/accept", json={"token": token, "password": password, "name": name})


def login(tenant, email: str, password: str = PASSWORD, otp: str | None = None):
    body = {"email": email, "password": password, **({"otp": otp} if otp else {})}
    return tenant.guest.post("/auth/login", json=body)


def member(tenant, email: str, role: str = "staff", client=None):
    """An invited, accepted and signed-in member: a client carrying their token, with `.member_id`."""
    created = invite(tenant, email, role, client)
    accepted = accept(tenant, created["token"])
    assert accepted.status_code == 201, accepted.get_json()
    session = login(tenant, email)
    assert session.status_code == 200, session.get_json()
    signed_in = tenant.guest.as_token(session.get_json()["token"])
    signed_in.member_id = session.get_json()["member"]["id"]
    return signed_in


def unique(name: str) -> str:
    return f"{name}-{time.monotonic_ns()}@staff.example".lower()


def test_an_invite_is_accepted_once_and_the_member_signs_in_with_their_role(tenant):
    email = unique("sam")
    created = invite(tenant, email.upper(), "box_office")
    assert created["emailed"] is False and created["status"] == "pending" and created["role"] == "box_office"
    assert created["inviteUrl"].endswith(f"/e/{tenant.orgid}/staff/accept-invite?token={created['token']}")
    assert created["email"] == email and created["invitedBy"].startswith("key:")
    listed = tenant.staff.get(INVITES)
    assert listed.status_code == 200 and created["token"] not in listed.get_data(as_text=True)
    assert listed.get_json()["invites"][0]["id"] == created["id"]
    with database.db.connection_context():
        assert MemberInvite.get_by_id(created["id"]).token_hash == token_hash(created["token"])

    accepted = accept(tenant, created["token"])
    assert accepted.status_code == 201, accepted.get_json()
    body = accepted.get_json()
    assert body["orgId"] == tenant.orgid and body["member"]["email"] == email
    assert body["member"]["role"] == "box_office" and body["member"]["twoFactor"] is False
    again = accept(tenant, created["token"], password="another-password-2")
    assert again.status_code == 409 and again.get_json()["type"] == "invite_used"

    session = login(tenant, email.title())
    assert session.status_code == 200, session.get_json()
    assert session.get_json()["role"] == "box_office"
    me = tenant.guest.as_token(session.get_json()["token"]).get("/auth/me").get_json()
    assert me["sub"] == f"member:{body['member']['id']}" and me["email"] == email
    assert me["role"] == "box_office" and me["scopes"] is None
    assert login(tenant, email, "wrong-password-9").get_json()["type"] == "invalid_credentials"
    assert login(tenant, unique("nobody")).get_json()["type"] == "invalid_credentials"

    members = tenant.staff.get("/org/members").get_json()["members"]
    assert [(m["email"], m["role"]) for m in members] == [(email, "box_office")]
    states = {i["id"]: i["status"] for i in tenant.staff.get(INVITES).get_json()["invites"]}
    assert states[created["id"]] == "accepted"
    assert invite_answer(tenant, email).get_json()["type"] == "already_a_member"


def invite_answer(tenant, email, role="staff"):
    return tenant.staff.post(INVITES, json={"email": email, "role": role})


def test_an_expired_revoked_or_made_up_invite_is_refused_and_changes_nothing(tenant):
    expired = invite(tenant, unique("late"))
    with database.db.connection_context():
        MemberInvite.update(expires_at=dt.datetime(2020, 1, 1)).where(MemberInvite.id == expired["id"]).execute()
        people = Member.select().count()
    assert accept(tenant, expired["token"]).get_json()["type"] == "invite_expired"

    revoked = invite(tenant, unique("gone"))
    answer = tenant.staff.delete(f"{INVITES}/{revoked['id']}")
    assert answer.status_code == 200 and answer.get_json()["status"] == "revoked"
    assert tenant.staff.delete(f"{INVITES}/{revoked['id']}").status_code == 200  # idempotent
    assert accept(tenant, revoked["token"]).get_json()["type"] == "invite_revoked"

    made_up = accept(tenant, "x" * 43)
    assert made_up.status_code == 404 and made_up.get_json()["type"] == "invite_not_found"
    email = unique("again")
    first = invite(tenant, email)
    second = invite(tenant, email, "viewer")  # a new invitation of the same e-mail revokes the pending one
    assert accept(tenant, first["token"]).get_json()["type"] == "invite_revoked"
    short = accept(tenant, second["token"], password="short")
    assert short.status_code == 422 and short.get_json()["type"] == "invalid_password"
    with database.db.connection_context():
        assert Member.select().count() == people
    assert accept(tenant, second["token"]).status_code == 201
    used = tenant.staff.delete(f"{INVITES}/{second['id']}")
    assert used.status_code == 409 and used.get_json()["type"] == "invite_used"
    for body in ({"email": "not-an-email", "role": "staff"}, {"email": unique("x"), "role": "root"},
                 {"email": unique("x")}):
        bad = tenant.staff.post(INVITES, json=body)
        assert bad.status_code == 422, body


def test_a_role_change_or_removal_holds_from_the_next_request(tenant):
    viewer = member(tenant, unique("viewer"), "viewer")
    assert viewer.get("/events").status_code == 200
    refused = viewer.post("/venues", json={"name": "Hall"})
    assert refused.status_code == 403 and refused.get_json()["type"] == "forbidden_role"

    changed = tenant.staff.patch(f"/org/members/{viewer.member_id}", json={"role": "staff"})
    assert changed.status_code == 200 and changed.get_json()["role"] == "staff"
    assert viewer.post("/venues", json={"name": "Hall"}).status_code == 201  # the same token, its new role
    assert viewer.get("/auth/me").get_json()["role"] == "staff"
    assert viewer.get("/org/members").get_json()["type"] == "forbidden_role"

    removed = tenant.staff.delete(f"/org/members/{viewer.member_id}")
    assert removed.status_code == 200
    gone = viewer.get("/events")
    assert gone.status_code == 401 and gone.get_json()["type"] == "membership_revoked"
    assert tenant.staff.delete(f"/org/members/{viewer.member_id}").get_json()["type"] == "member_not_found"
    bad = tenant.staff.patch(f"/org/members/{viewer.member_id}", json={"role": "owner"})
    assert bad.status_code == 422


def test_a_door_member_checks_in_and_a_box_office_member_sells(tenant):
    event, ticket_type = make_event(tenant)
    [ticket] = issue(tenant, ticket_type)
    door, box_office = member(tenant, unique("door"), "door"), member(tenant, unique("box"), "box_office")
    with database.db.connection_context():
        payload = qr.payload_for(tenant.org, ticket)
    assert door.post("/events/tickets/validate", json={"qrPayload": payload}).get_json()["valid"] is True
    admitted = door.post("/events/check-in", json={"qrPayload": payload})
    assert admitted.status_code == 200 and admitted.get_json()["ticket"]["attended"] is True
    assert door.get(f"/events/tickets/{ticket.id}").get_json()["id"] == ticket.id
    sale = {"eventId": event.id, "items": [{"ticketTypeId": ticket_type.id, "quantity": 1}]}
    for refused in (door.post("/events/tickets/purchase", json=sale), door.get("/events"),
                    box_office.post(f"/events/tickets/{ticket.id}/refund", json={})):
        assert refused.status_code == 403 and refused.get_json()["type"] == "forbidden_role"
    sold = box_office.post("/events/tickets/purchase", json=sale)
    assert sold.status_code == 201 and sold.get_json()["source"] == "box_office", sold.get_json()


def test_a_member_ends_every_session_in_every_tenant(tenant, other_tenant):
    email = unique("leaving")
    here = member(tenant, email, "viewer")
    there = member(other_tenant, unique("staying"), "viewer")  # another person: not affected
    assert here.post("/auth/logout-all").status_code == 204
    for answer in (here.get("/events"), here.post("/auth/logout-all")):
        assert answer.status_code == 401 and answer.get_json()["type"] == "session_revoked"
    assert there.get("/events").status_code == 200
    time.sleep(0.01)  # a token issued after the moment is live
    assert tenant.guest.as_token(login(tenant, email).get_json()["token"]).get("/events").status_code == 200


def test_the_last_admin_can_be_neither_demoted_nor_removed(tenant):
    first = member(tenant, unique("first-admin"), "admin")
    for answer in (first.patch(f"/org/members/{first.member_id}", json={"role": "staff"}),
                   first.delete(f"/org/members/{first.member_id}")):
        assert answer.status_code == 409 and answer.get_json()["type"] == "last_admin"
    second = member(tenant, unique("second-admin"), "admin", client=first)
    assert first.patch(f"/org/members/{first.member_id}", json={"role": "admin"}).status_code == 200
    assert second.patch(f"/org/members/{first.member_id}", json={"role": "viewer"}).status_code == 200
    assert second.delete(f"/org/members/{second.member_id}").get_json()["type"] == "last_admin"
    assert first.get("/org/members").get_json()["type"] == "forbidden_role"  # a viewer now


def test_each_member_change_leaves_one_audit_row_and_a_refused_one_none(tenant):
    def rows(action):
        with database.db.connection_context():
            return list(AuditEntry.select().where((AuditEntry.org == tenant.orgid) & (AuditEntry.action == action)))

    email = unique("audited")
    created = invite(tenant, email, "viewer")
    joined = accept(tenant, created["token"]).get_json()["member"]
    revoked = invite(tenant, unique("never"))
    tenant.staff.delete(f"{INVITES}/{revoked['id']}")
    tenant.staff.delete(f"{INVITES}/{revoked['id']}")  # already revoked: no second row
    tenant.staff.patch(f"/org/members/{joined['id']}", json={"role": "door"})
    only_admin = member(tenant, unique("sole-admin"), "admin")
    assert only_admin.delete(f"/org/members/{only_admin.member_id}").status_code == 409  # refused: no row
    tenant.staff.delete(f"/org/members/{joined['id']}")
    [invited] = [row for row in rows("member.invited") if row.record_id == created["id"]]
    assert invited.after == {"email": email, "role": "viewer"} and invited.actor_kind == "api_key"
    assert created["token"] not in str(invited.after)
    assert [(r.record_id, r.before) for r in rows("member.invite_revoked")] == [(revoked["id"],
                                                                                 {"email": revoked["email"]})]
    assert [r.record_id for r in rows("member.joined") if r.after["email"] == email] == [joined["id"]]
    [changed] = rows("member.role_changed")
    assert (changed.before, changed.after) == ({"role": "viewer"}, {"role": "door"})
    [removed] = rows("member.removed")
    assert removed.record_id == joined["id"] and removed.before == {"email": email, "role": "door"}


def test_two_admins_demoting_each_other_at_once_leave_one_admin(tenant, live_server):
    admins = [member(tenant, unique(f"racer{n}"), "admin") for n in range(2)]
    barrier = threading.Barrier(2)
    answers = []

    def demote(caller, target):
        barrier.wait()
        answers.append(requests.patch(f"{live_server.url}/org/members/{target.member_id}", json={"role": "staff"},
                                      headers={"orgid": tenant.orgid, "Authorization": f"Bearer {caller.token}"},
                                      timeout=30).status_code)

    threads = [threading.Thread(target=demote, args=(admins[0], admins[1])),
               threading.Thread(target=demote, args=(admins[1], admins[0]))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with database.db.connection_context():
        left = Membership.select().where((Membership.org == tenant.orgid) & (Membership.role == "admin")).count()
    assert left == 1 and sorted(answers) in ([200, 401], [200, 403], [200, 409]), answers


def test_one_person_joins_two_tenants_with_their_own_password_and_a_role_in_each(tenant, other_tenant):
    email = unique("both")
    in_a = member(tenant, email, "door")
    created = invite(other_tenant, email, "viewer")
    wrong = accept(other_tenant, created["token"], password="not-their-password")
    assert wrong.status_code == 401 and wrong.get_json()["type"] == "invalid_credentials"
    joined = accept(other_tenant, created["token"], password=PASSWORD, name="Ignored")
    assert joined.status_code == 201 and joined.get_json()["member"]["id"] == in_a.member_id
    assert joined.get_json()["member"]["name"] == "Sam Staff"  # their account's, unchanged

    assert login(tenant, email).get_json()["role"] == "door"
    in_b = other_tenant.guest.as_token(login(other_tenant, email).get_json()["token"])
    assert in_b.get("/auth/me").get_json()["role"] == "viewer"
    crossed = in_b.get("/events", headers={"orgid": tenant.orgid})
    assert crossed.status_code == 403 and crossed.get_json()["type"] == "org_mismatch"

    # Isolation: B's admin neither sees nor changes A's membership; A's invitations are invisible to B.
    other_tenant.staff.delete(f"/org/members/{in_a.member_id}")
    assert login(tenant, email).status_code == 200  # still a member of A
    a_invite = invite(tenant, unique("a-only"))
    assert a_invite["id"] not in other_tenant.staff.get(INVITES).get_data(as_text=True)
    assert other_tenant.staff.delete(f"{INVITES}/{a_invite['id']}").get_json()["type"] == "invite_not_found"
    assert accept(other_tenant, a_invite["token"]).get_json()["type"] == "invite_not_found"
    assert [m["email"] for m in tenant.staff.get("/org/members").get_json()["members"]] == [email]
    assert login(other_tenant, unique("a-only")).get_json()["type"] == "invalid_credentials"


def test_a_removed_member_of_another_tenant_is_no_member_here(tenant, other_tenant):
    in_b = member(other_tenant, unique("b-only"), "admin")
    answer = tenant.staff.patch(f"/org/members/{in_b.member_id}", json={"role": "viewer"})
    assert answer.status_code == 404 and answer.get_json()["type"] == "member_not_found"
    assert in_b.get("/org/members").get_json()["members"][0]["role"] == "admin"
    assert login(tenant, in_b.get("/auth/me").get_json()["email"]).get_json()["type"] == "invalid_credentials"


def _enrol(client) -> pyotp.TOTP:
    started = client.post("/auth/two-factor/enrol")
    assert started.status_code == 200, started.get_json()
    secret = started.get_json()["secret"]
    assert started.get_json()["otpauthUri"].startswith("otpauth://totp/")
    email = client.get("/auth/me").get_json()["email"]
    with database.db.connection_context():
        stored = Member.select(Member.totp_pending).where(Member.email == email).first().totp_pending
    assert stored and secret not in stored  # sealed at rest
    return pyotp.TOTP(secret)


def _previous_code(totp: pyotp.TOTP) -> str:
    return totp.at(time.time() - totp.interval)


def test_two_factor_sign_in_needs_a_fresh_code(tenant):
    email = unique("otp")
    staff = member(tenant, email, "staff")
    totp = _enrol(staff)
    wrong = staff.post("/auth/two-factor/confirm", json={"otp": "000000" if totp.now() != "000000" else "111111"})
    assert wrong.status_code == 422 and wrong.get_json()["type"] == "invalid_otp"
    confirmed = staff.post("/auth/two-factor/confirm", json={"otp": _previous_code(totp)})
    assert confirmed.status_code == 200 and confirmed.get_json()["member"]["twoFactor"] is True
    again = staff.post("/auth/two-factor/enrol")
    assert again.status_code == 409 and again.get_json()["type"] == "two_factor_enabled_already"

    assert login(tenant, email).get_json()["type"] == "otp_required"
    assert login(tenant, email, otp="12345x").get_json()["type"] == "invalid_otp"
    assert login(tenant, email, otp=_previous_code(totp)).get_json()["type"] == "invalid_otp"  # used to confirm
    signed_in = login(tenant, email, otp=totp.now())
    assert signed_in.status_code == 200 and signed_in.get_json()["role"] == "staff"
    replayed = login(tenant, email, otp=totp.now())
    assert replayed.status_code == 401 and replayed.get_json()["type"] == "invalid_otp"
    assert login(tenant, email, "wrong-password-9", otp=totp.now()).get_json()["type"] == "invalid_credentials"


def test_an_admin_without_two_factor_only_enrols_when_the_tenant_demands_it(tenant):
    admin_email, viewer_email = unique("demanded-admin"), unique("free-viewer")
    member(tenant, admin_email, "admin")
    member(tenant, viewer_email, "viewer")
    settings = tenant.staff.patch("/org/settings", json={"adminsNeedTwoFactor": True})
    assert settings.status_code == 200 and settings.get_json()["adminsNeedTwoFactor"] is True

    refused = login(tenant, admin_email)
    assert refused.status_code == 403 and refused.get_json()["type"] == "two_factor_enrolment_required"
    assert login(tenant, admin_email, "wrong-password-9").get_json()["type"] == "invalid_credentials"
    restricted = tenant.guest.as_token(refused.get_json()["enrolmentToken"])
    for path in ("/events", "/org/members", "/org/settings"):
        answer = restricted.get(path)
        assert answer.status_code == 403 and answer.get_json()["type"] == "forbidden_role", path
    assert login(tenant, viewer_email).status_code == 200  # the demand is for admins

    totp = _enrol(restricted)
    confirmed = restricted.post("/auth/two-factor/confirm", json={"otp": totp.now()})
    assert confirmed.status_code == 200 and confirmed.get_json()["role"] == "admin"
    admin = tenant.guest.as_token(confirmed.get_json()["token"])
    assert admin.get("/org/members").status_code == 200
    assert login(tenant, admin_email).get_json()["type"] == "otp_required"


def test_the_invite_is_emailed_through_the_notifications_plugin(tenant):
    smtp = SmtpServer().start()
    try:
        tenant.enable("notifications")
        tenant.configure("notifications", smtp_host="127.0.0.1", smtp_port=str(smtp.port))
        email = unique("mailed")
        created = invite(tenant, email, "door")
        assert created["emailed"] is True and created["token"] is None and created["inviteUrl"] is None
        [mail] = smtp.messages
        assert mail["To"] == email and "X-Boxoffice-Kind" in mail and mail["X-Boxoffice-Kind"] == "member_invite"
        text = next(p for p in mail.walk() if p.get_content_type() == "text/plain").get_content()
        token = text.split("accept-invite?token=")[1].split()[0]
        assert f'"token": "{token}"' in text and " as door." in text
    finally:
        smtp.stop()
    assert accept(tenant, token).status_code == 201
    assert login(tenant, email).get_json()["role"] == "door"


def test_the_operator_invites_a_tenants_first_admin(tenant, operator):
    email = unique("first")
    answer = operator.post(f"/operator/tenants/{tenant.orgid}/members/invites", json={"email": email})
    assert answer.status_code == 201 and answer.get_json()["role"] == "admin", answer.get_json()
    assert answer.get_json()["invitedBy"] == "operator"
    assert accept(tenant, answer.get_json()["token"]).status_code == 201
    admin = tenant.guest.as_token(login(tenant, email).get_json()["token"])
    assert [m["role"] for m in admin.get("/org/members").get_json()["members"]] == ["admin"]
    unknown = operator.post("/operator/tenants/no-such-org/members/invites", json={"email": email})
    assert unknown.status_code == 404


@pytest.mark.parametrize("path", ["/auth/login", f"{INVITES}/accept"])
def test_sign_in_and_accept_are_throttled(tenant, config, monkeypatch, path):
    monkeypatch.setattr(config, "throttle_per_account", "3/minute")
    body = ({"email": unique("guess"), "password": "wrong-password-9"} if path == "/auth/login"
            else {"token": "made-up-token", "password": PASSWORD})
    where = {"environ_base": {"REMOTE_ADDR": f"10.9.{time.monotonic_ns() % 250}.{len(path)}"}}
    statuses = [tenant.guest.post(path, json=body, **where).status_code for _ in range(4)]
    assert statuses[:3] in ([401] * 3, [404] * 3) and statuses[3] == 429, statuses
    assert tenant.guest.post(path, json=body, **where).get_json()["type"] == "rate_limited"

"""Secrets at rest: a transfer's claim token is in no table's text (the e-mail log keeps it sealed until sent),
the e-mail that arrives carries a working claim link, and a sent claim e-mail is not resent with a dead token.
"""

from __future__ import annotations

from test_notifications import PURCHASE, mailer, parts, smtp  # noqa: F401 - fixtures
from test_purchase_support import make_event, make_type

from core import db as database


def rows_containing(needle: str) -> list[str]:
    """`table.column` of every text cell in the database that contains `needle` (every table, every row)."""
    found = []
    for table in database.db.get_tables():
        cursor = database.db.execute_sql(f'SELECT * FROM "{table}"')
        names = [d[0] for d in cursor.description]
        for row in cursor.fetchall():
            found += [f"{table}.{name}" for name, value in zip(names, row, strict=True)
                      if value is not None and needle in str(value)]
    return found


def transfer(tenant, smtp):  # noqa: F811 - the fixture is passed in
    event = make_event(tenant)
    ticket_type = make_type(tenant, event, price=0)
    fan = tenant.customer(name="Giver")
    [ticket] = fan.post(PURCHASE, json={"eventId": event, "tickets": [{"ticketTypeId": ticket_type,
                                                                          "quantity": 1}]}).get_json()["tickets"]
    smtp.messages.clear()
    moved = fan.post(f"/client/events/tickets/{ticket['id']}/transfer", json={"toEmail": "friend@example.com"})
    assert moved.status_code == 201, moved.get_json()
    return moved.get_json()["newTicket"]


def test_claim_token_is_in_no_table_and_the_email_link_works(mailer, smtp):  # noqa: F811
    transfer(mailer, smtp)
    [claim_mail] = smtp.messages
    text = parts(claim_mail, "text/plain")[0].get_content()
    html = parts(claim_mail, "text/html")[0].get_content()
    token = text.split("claim?token=")[1].split()[0]
    assert f'"token": "{token}"' in text and f"claim?token={token}" in html
    with database.db.connection_context():
        assert rows_containing(token) == []
    friend = mailer.customer(email="friend@example.com")
    claimed = friend.post("/client/events/tickets/claim", json={"token": token})
    assert claimed.status_code == 200, claimed.get_json()


def test_a_sent_claim_email_is_not_resent_but_an_unsent_one_is(mailer, smtp):  # noqa: F811
    new_ticket = transfer(mailer, smtp)
    [sent] = [m for m in mailer.staff.get("/notifications/messages").get_json()["data"]
              if m["kind"] == "transfer_claim"]
    again = mailer.staff.post(f"/notifications/messages/{sent['id']}/resend")
    assert again.status_code == 409 and again.get_json()["type"] == "claim_link_not_kept"

    # A claim e-mail that could not be sent keeps its token sealed and hands it to the resent copy.
    mailer.configure("notifications", smtp_port="1")
    link = mailer.staff.post(f"/events/tickets/{new_ticket['id']}/claim-link")
    assert link.status_code in (200, 201), link.get_json()
    token = link.get_json()["claimToken"]
    with database.db.connection_context():
        assert rows_containing(token) == []
    [unsent] = [m for m in mailer.staff.get("/notifications/messages").get_json()["data"]
                if m["kind"] == "transfer_claim" and m["status"] != "sent"]
    mailer.configure("notifications", smtp_port=str(smtp.port))
    smtp.messages.clear()
    assert mailer.staff.post(f"/notifications/messages/{unsent['id']}/resend").status_code == 202
    [claim_mail] = smtp.messages
    assert f"claim?token={token}" in parts(claim_mail, "text/plain")[0].get_content()

"""Pass admissions: how often one pass ticket was admitted at one session of its parent event.

Columns only; the count moves only through the check-in service's conditional UPDATE (`scan_count < limit`).
"""

from __future__ import annotations

from peewee import CharField, IntegerField

from core.models.base import DateTimeField
from core.models.tenant import TenantModel


class PassAdmission(TenantModel):
    """The admissions of one 003 pass (a ticket whose type `admits_every_session`) at one session.

    No foreign keys, like the scan log (migration 4): a scan must not take a key-share lock on the session row
    that every scan at that door shares. Rows go with their session (`checkin.forget_scans`).
    """

    ticket_id = CharField(max_length=36)
    session_id = CharField(max_length=36)
    scan_count = IntegerField(default=0)
    first_scanned_at = DateTimeField(null=True)

    class Meta:
        table_name = "pass_admission"
        indexes = ((("ticket_id", "session_id"), True), (("org", "session_id"), False))

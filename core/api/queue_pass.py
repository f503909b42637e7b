"""The waiting-room pass a purchase request carries: the `Queue-Pass` header (or `queuePass` in a form), read
the same way by the core's purchase views and a plugin's own checkout, and documented on each.

Reads the request only; whether a pass is wanted and valid is `core.services.queue_passes`.
"""

from __future__ import annotations

from flask import request

QUEUE_PASS_HEADER = "Queue-Pass"
QUEUE_PASS_FIELD = "queuePass"
_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")

QUEUE_PASS_DOC = {"parameters": [{
    "in": "header", "name": QUEUE_PASS_HEADER, "required": False,
    "schema": {"type": "string", "maxLength": 20000},
    "description": "The pass of an event whose waiting room is on (several, for several such events, separated "
                   "by commas); without a valid one a customer purchase is 403 `queue_pass_required` / "
                   "`queue_pass_invalid`. Events without a waiting room ignore it.",
}]}


def sent_queue_pass() -> str | None:
    """The pass the request sent: its `Queue-Pass` header, else a form's `queuePass` field; None without."""
    header = request.headers.get(QUEUE_PASS_HEADER)
    if header:
        return header
    if request.mimetype in _FORMS:
        return request.form.get(QUEUE_PASS_FIELD) or None
    return None

"""Sold out is not the end: a waiting list that offers (or buys) returned seats, and face-value resale of
tickets between fans, both on the core's holds, gateways, refunds and ticket issuing. Enabled per tenant.

The waiting list lives in `waitlist*.py`, resale listings in `listing*.py`; this module only wires them to
the core's hooks.
"""

from __future__ import annotations

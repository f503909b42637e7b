"""A sale through two nodes, one SIGKILLed mid-sale: nothing oversold, lost or doubled.

Runs `bench/two_nodes.py` small: two gunicorn nodes and two `boxoffice worker` processes on one PostgreSQL database
and a Redis of its own, the Stripe loopback fake, a loopback SMTP server and webhook receiver; paid (Stripe) and
free buyers alternate between the nodes, fail over with their `Idempotency-Key` when a node dies, and the bench
audits the database, the fake's charges, the e-mails and the webhooks (see its docstring). PostgreSQL only: two
nodes share one server database.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from procs import ROOT, boxoffice_env

sys.path.insert(0, str(ROOT / "bench"))
from harness import RESULT_PREFIX  # noqa: E402 - bench/ is not a package

pytestmark = pytest.mark.skipif(not os.environ.get("BOXOFFICE_DATABASE_URL", "").startswith("postgres"),
                                reason="two nodes on one PostgreSQL: the PostgreSQL pass")


def test_two_nodes_sell_out_with_one_killed_and_every_effect_arrives_once():
    buyers, seats = 40, 30
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "two_nodes.py"), "--buyers", str(buyers),
                           "--seats", str(seats), "--threads", "6", "--workers", "1", "--health", "100",
                           "--kill-at", "0.4", "--python", sys.executable],
                          cwd=ROOT, env=boxoffice_env(), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    lines = [line for line in proc.stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    result = json.loads(lines[-1][len(RESULT_PREFIX):])
    assert result["audit_ok"] is True
    assert result["killed_at_buyer"] is not None and result["killed_at_buyer"] < buyers // 2  # killed mid-sale
    assert result["oversold"] == 0 and result["lost_buyers"] == 0
    assert result["confirmed"] == seats  # sold out: the buyers after the kill were served by node 2
    audit = proc.stdout.split("audit: ", 1)[1].splitlines()[0]
    for zero in ("'bookings_without_tickets': 0", "'paid_without_one_payment': 0", "'stripe_charges_not_once': 0",
                 "'buyers_without_one_email': 0", "'webhooks_missing': 0", "'webhooks_doubled': 0",
                 "'outbox_open': 0"):
        assert zero in audit
    assert f"'emails': {seats}, 'emails_unique': {seats}" in audit
    assert f"'webhooks': {2 * seats}, 'webhooks_unique': {2 * seats}" in audit

"""The benchmark tools still run against the current code: a tiny bench/orders.py run, and bench/ab.py's verdict.

No timing is asserted (the machine is shared); only that the tools work, audit what they sold and judge floors.
"""

from __future__ import annotations

import json
import subprocess
import sys

from procs import ROOT, boxoffice_env

sys.path.insert(0, str(ROOT / "bench"))
import ab  # noqa: E402 - bench/ is not a package
from harness import RESULT_PREFIX  # noqa: E402


def test_orders_bench_sells_paid_and_free_orders_and_audits_them():
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "orders.py"), "--orders", "6", "--requests", "12",
                           "--rounds", "2", "--threads", "3", "--workers", "1", "--python", sys.executable],
                          cwd=ROOT, env=boxoffice_env(BOXOFFICE_JOBS_IMMEDIATE=None), capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = [line for line in proc.stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    result = json.loads(lines[-1][len(RESULT_PREFIX):])
    assert result["bench"] == "orders"
    assert result["audit_ok"] is True and result["failures"] == 0
    assert result["paid_orders_per_s"] > 0 and result["free_sales_per_s"] > 0 and result["me_per_s"] > 0
    assert "accepted: 6/6 paid orders, 6/6 free sales" in proc.stdout
    assert "'doubled_payments': 0" in proc.stdout


def _run(bench: str, **figures) -> dict:
    return {"bench": bench, "audit_ok": True, **figures}


def test_ab_table_holds_floors_and_reports_a_miss(capsys):
    good = {"A": [_run("orders", paid_orders_per_s=100.0, me_per_s=1000.0)],
            "B": [_run("orders", paid_orders_per_s=90.0, me_per_s=960.0)]}
    assert ab.table(good, ["orders"]) is True
    out = capsys.readouterr().out
    assert "paid_orders_per_s" in out and "90.0%" in out and "MISSED" not in out

    slow_me = {"A": good["A"], "B": [_run("orders", paid_orders_per_s=120.0, me_per_s=940.0)]}
    assert ab.table(slow_me, ["orders"]) is False
    assert "94.0%  >= 95% MISSED" in capsys.readouterr().out


def test_ab_table_fails_when_a_side_has_no_successful_run_or_a_failed_audit(capsys):
    only_a = {"A": [_run("checkin", checkin_per_s=100.0)], "B": [{"bench": "checkin", "error": "exit 1"}]}
    assert ab.table(only_a, ["checkin"]) is False
    assert "no successful run on B" in capsys.readouterr().out

    oversold = {"A": [_run("checkin", checkin_per_s=100.0)],
                "B": [{**_run("checkin", checkin_per_s=100.0), "audit_ok": False}]}
    assert ab.table(oversold, ["checkin"]) is False
    assert "FAILED" in capsys.readouterr().out

"""Runs the scanner's door evaluator (`plugins/pages/static/scan/door-evaluator.js`) in Node 20 on a bundle and
scans, as a browser would, for tests that compare it with the server."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EVALUATOR = ROOT / "plugins/pages/static/scan/door-evaluator.js"
NODE = "/usr/bin/node"

_RUNNER = """
import { readFileSync } from "node:fs";
import * as door from %(module)s;
const { bundle, scans } = JSON.parse(readFileSync(0, "utf8"));
const answers = [];
for (const scan of scans) {
  const options = scan.options || {};
  answers.push(scan.ticketId ? await door.evaluateTicketId(bundle, scan.ticketId, options)
                             : await door.evaluate(bundle, scan.text, options));
}
process.stdout.write(JSON.stringify({ answers, implemented: door.IMPLEMENTED }));
"""


def run_evaluator(bundle: dict, scans: list[dict]) -> dict:
    """`{answers, implemented}`: the evaluator's verdict for each scan (`{text}` or `{ticketId}`, with `options`
    such as `scanPoint`, `nowMs`, `localAdmissions`, `purpose`), in order, and the rule names it implements."""
    script = _RUNNER % {"module": json.dumps(EVALUATOR.as_uri())}
    done = subprocess.run([NODE, "--input-type=module", "-e", script], input=json.dumps({"bundle": bundle,
                          "scans": scans}), capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)

"""Gunicorn config for servers the tests run as subprocesses: check every answer like the test process does.

It adds the response check only; it never changes a server setting or an answer.
"""

import os
import sys
from pathlib import Path

# Only under a test run that collects the findings (tests/response_contract.py sets the variable).
if os.environ.get("BOXOFFICE_TEST_CONTRACT_LOG"):
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import response_contract

    response_contract.RECORDER.forward = True
    response_contract.install()

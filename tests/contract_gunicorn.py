"""Gunicorn config for servers the tests run as subprocesses: check every answer like the test process does.

It adds the response check only; it never changes a server setting or an answer.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import response_contract  # noqa: E402 - needs the tests folder on the path first

response_contract.RECORDER.forward = True
response_contract.install()

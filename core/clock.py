"""The deployment's notion of now: real UTC time, shifted by an offset a test moves, only when the deployment names
a clock file (`BOXOFFICE_TEST_CLOCK_FILE`, test deployments only).

Never shifts time without that setting (one `None` check per call then); never writes the file (tests do).
"""

from __future__ import annotations

import datetime as dt
import os

_clock_file: str | None = None
_read: tuple[int, dt.timedelta] = (-1, dt.timedelta(0))   # (the file's mtime_ns when read, its offset)


def use_clock_file(path: str | None) -> None:
    """Take the offset of every later `now()` from `path` (seconds, a decimal number; a missing or empty file is
    0); None, the default, is the real clock. `create_app` calls it from `BOXOFFICE_TEST_CLOCK_FILE`."""
    global _clock_file, _read
    _clock_file = path or None
    _read = (-1, dt.timedelta(0))


def offset() -> dt.timedelta:
    """How far this deployment's clock is moved from real time (zero unless a clock file is in use). The file is
    re-read only when its modification time changed."""
    global _read
    if _clock_file is None:
        return dt.timedelta(0)
    try:
        stamp = os.stat(_clock_file).st_mtime_ns
    except FileNotFoundError:
        return dt.timedelta(0)
    if stamp != _read[0]:
        with open(_clock_file) as handle:
            text = handle.read().strip()
        _read = (stamp, dt.timedelta(seconds=float(text)) if text else dt.timedelta(0))
    return _read[1]


def now() -> dt.datetime:
    """The current time as a naive UTC datetime (how every timestamp is stored), moved by `offset()`."""
    current = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    return current if _clock_file is None else current + offset()

"""The operator-wide statements the org_id scope check (`.ci/org_scope.py`) lets through, each with its reason.

Data only: an entry names the code (`path:function`, any of a statement's recorded frames) and the tenant tables
it may touch across tenants; never add one for a tenant's own request.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Allowed:
    """Statements run by `site` may leave `tables` unconstrained by org_id, because of `reason`."""

    site: str
    tables: tuple[str, ...]
    reason: str


ALLOWED: tuple[Allowed, ...] = ()

"""Stable numeric ids for records shown to clients that parse ids as numbers (003's public v2 API).

A public id is a random positive integer below 2^53 (exact in a JSON number / JavaScript double), unique per
table, stored beside the UUID primary key, drawn once when the row is inserted and never changed. Random, not
sequential, so ids cannot be enumerated. The lookups both ways live in `core.kits.public_ids`.
"""

from __future__ import annotations

import secrets

from peewee import BigIntegerField

PUBLIC_ID_LIMIT = 2 ** 53  # every public id is below this (JavaScript's Number.MAX_SAFE_INTEGER + 1)
DRAW_ATTEMPTS = 8  # draws per id before giving up (a collision in 2^53 is already about one in 10^9)


def random_public_id() -> int:
    """One random candidate id in [1, 2^53)."""
    return secrets.randbelow(PUBLIC_ID_LIMIT - 1) + 1


def unused_public_ids(model, count: int) -> list[int]:
    """`count` distinct random ids that no row of `model` holds yet (one SELECT per draw; draws again on a
    collision). The unique index is the final guard against a concurrent insert drawing the same one."""
    chosen: list[int] = []
    field = model._meta.fields["public_id"]
    for _ in range(DRAW_ATTEMPTS):
        candidates = {random_public_id() for _ in range(count - len(chosen))} - set(chosen)
        taken = {row[0] for row in model.select(field).where(field.in_(list(candidates))).tuples()}
        chosen.extend(sorted(candidates - taken))
        if len(chosen) == count:
            return chosen
    raise RuntimeError(f"Could not draw {count} unused public ids for {model.__name__}.")


def fill_public_ids(model, rows: list[dict]) -> None:
    """Give each row dict of a bulk insert into `model` that lacks one an unused public id (one SELECT per
    batch); a no-op for models without `public_id`."""
    if "public_id" not in model._meta.fields:
        return
    missing = [row for row in rows if row.get("public_id") is None]
    for row, public_id in zip(missing, unused_public_ids(model, len(missing)) if missing else (), strict=True):
        row["public_id"] = public_id


class PublicIdField(BigIntegerField):
    """`public_id`: unique; its default is a random draw (no query, so building an instance stays cheap),
    which `PublicIdModel.save` and `fill_public_ids` check against the table before inserting. Null only
    between the migration that adds the column and its backfill."""

    def __init__(self, **kwargs):
        kwargs.setdefault("null", True)
        kwargs.setdefault("unique", True)
        kwargs.setdefault("default", random_public_id)
        super().__init__(**kwargs)


def ensure_unused(instance) -> None:
    """Before inserting `instance`: keep its drawn public id when no row holds it, else draw again."""
    model = type(instance)
    if instance.public_id is None or model.select().where(model.public_id == instance.public_id).exists():
        instance.public_id = unused_public_ids(model, 1)[0]

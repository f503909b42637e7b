"""List pagination shared by every list endpoint: opaque keyset cursors (003) and page/limit (002).

It builds WHERE/ORDER BY/LIMIT on a peewee query and never counts the whole table or uses deep OFFSETs
for cursors; bad cursors and sizes are 400s with a machine `type`, never a 500.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import reduce
from operator import and_, or_

from marshmallow import fields, validate
from peewee import Node, Query

from core.api_schema import Schema
from core.errors import ApiError

DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 200
MAX_PAGE_NUMBER = 100_000
_EPOCH = dt.datetime(1970, 1, 1)


class InvalidCursor(ApiError):
    """400: the `page[cursor]` token is not one we issued for this list and sort order."""

    status, type = 400, "invalid_cursor"


class InvalidParameter(ApiError):
    """400: a query parameter (page size, sort, filter, fields, include) has a value we cannot use."""

    status, type = 400, "invalid_parameter"


@dataclass(frozen=True)
class SortKey:
    """One ORDER BY term of a keyset: a column (nullable columns are coalesced) and its direction.

    `kind` is "datetime", "str" or "int"; it says how the value travels in a cursor and which sentinel
    stands for NULL, so NULLs sort first ascending on SQLite and PostgreSQL alike.
    """

    name: str
    column: Node
    kind: str = "str"
    descending: bool = False
    nullable: bool = False
    attr: str | None = None

    @property
    def sentinel(self):
        """The stand-in for NULL (sorts before every real value)."""
        return {"datetime": _EPOCH, "int": -(2**31), "str": ""}[self.kind]

    @property
    def expr(self) -> Node:
        """The SQL expression ordered and compared on."""
        if not self.nullable:
            return self.column
        from peewee import fn

        return fn.COALESCE(self.column, self.sentinel)

    def value_of(self, row) -> object:
        """The key's value on a fetched row (model instance or dict), NULL replaced by the sentinel."""
        attr = self.attr or self.name
        value = row[attr] if isinstance(row, dict) else getattr(row, attr)
        return self.sentinel if value is None else value

    def encode(self, value) -> object:
        """A JSON-safe form of a key value."""
        if self.kind == "datetime":
            return value.isoformat()
        return value

    def decode(self, raw) -> object:
        """The key value back from its JSON form (ValueError/TypeError on nonsense)."""
        if self.kind == "datetime":
            if not isinstance(raw, str):
                raise TypeError("datetime expected")
            return dt.datetime.fromisoformat(raw)
        if self.kind == "int":
            if not isinstance(raw, int) or isinstance(raw, bool):
                raise TypeError("int expected")
            return raw
        if not isinstance(raw, str):
            raise TypeError("str expected")
        return raw


@dataclass
class Page:
    """One fetched page: rows plus what the `meta` block needs."""

    rows: list
    size: int
    first: bool
    last: bool
    next_cursor: str | None = None
    page_number: int | None = None
    extra: dict = field(default_factory=dict)


def _signature(keys: Sequence[SortKey]) -> str:
    return ",".join(f"{k.name}:{'d' if k.descending else 'a'}" for k in keys)


def encode_cursor(keys: Sequence[SortKey], row) -> str:
    """An opaque base64url token holding the sort signature and the row's key values."""
    payload = [_signature(keys)] + [k.encode(k.value_of(row)) for k in keys]
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(keys: Sequence[SortKey], token: str) -> list:
    """The key values inside `token`, or 400 `invalid_cursor` (tampered, truncated, other sort order)."""
    try:
        if len(token) > 2048:
            raise ValueError("too long")
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        payload = json.loads(raw)
        if not isinstance(payload, list) or len(payload) != len(keys) + 1:
            raise ValueError("shape")
        if payload[0] != _signature(keys):
            raise InvalidCursor("This cursor was issued for another sort order; start again without "
                                "`page[cursor]`.")
        return [k.decode(v) for k, v in zip(keys, payload[1:], strict=True)]
    except InvalidCursor:
        raise
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidCursor("`page[cursor]` is not a valid cursor; use `meta.page.next_cursor` "
                            "from the previous page.") from exc


def keyset_condition(keys: Sequence[SortKey], values: Sequence) -> Node:
    """Rows strictly after `values` in the order `keys`: `k1 >= v1 AND (k1 > v1 OR (k1 = v1 AND ...))`.

    Expanded instead of a row-value comparison so mixed directions work and SQLite and PostgreSQL both
    use the leading column's index.
    """
    def after(key: SortKey, value) -> Node:
        return key.expr < value if key.descending else key.expr > value

    branches = []
    for i, key in enumerate(keys):
        equal_prefix = [keys[j].expr == values[j] for j in range(i)]
        branches.append(reduce(and_, [*equal_prefix, after(key, values[i])]))
    first = keys[0]
    bound = first.expr <= values[0] if first.descending else first.expr >= values[0]
    return bound & reduce(or_, branches)


def order_by(keys: Sequence[SortKey]) -> list[Node]:
    """The ORDER BY terms for `keys`."""
    return [k.expr.desc() if k.descending else k.expr.asc() for k in keys]


def parse_size(raw, default: int = DEFAULT_PAGE_SIZE, maximum: int = MAX_PAGE_SIZE,
               name: str = "page[size]") -> int:
    """A page size from a query value: 1..maximum, else 400 `invalid_parameter`."""
    if raw is None or raw == "":
        return default
    try:
        size = int(raw)
    except (TypeError, ValueError):
        size = 0
    if not 1 <= size <= maximum:
        raise InvalidParameter(f"`{name}` must be an integer from 1 to {maximum}.",
                               errors={name: [f"must be 1..{maximum}"]})
    return size


def paginate_cursor(query: Query, keys: Sequence[SortKey], size: int, cursor: str | None,
                    fetch: Callable[[Query], list] = list) -> Page:
    """Keyset pagination: the `size` rows after `cursor` in `keys` order, plus the next cursor.

    The cursor holds the last row's key values, so rows inserted meanwhile never shift a page.
    """
    if cursor:
        query = query.where(keyset_condition(keys, decode_cursor(keys, cursor)))
    rows = fetch(query.order_by(*order_by(keys)).limit(size + 1))
    return cursor_page(keys, rows, size, first=not cursor)


def cursor_page(keys: Sequence[SortKey], rows: list, size: int, *, first: bool,
                cursor_row: Callable | None = None) -> Page:
    """A Page from up to `size + 1` rows fetched in `keys` order (the extra row says more exist).
    `cursor_row` turns a row into an object with the keys' attributes when rows are not such objects."""
    last = len(rows) <= size
    rows = rows[:size]
    next_cursor = None
    if rows and not last:
        next_cursor = encode_cursor(keys, cursor_row(rows[-1]) if cursor_row else rows[-1])
    return Page(rows=rows, size=size, first=first, last=last, next_cursor=next_cursor)


def paginate_offset(query: Query, keys: Sequence[SortKey], page: int, limit: int,
                    fetch: Callable[[Query], list] = list) -> Page:
    """002's page/limit pagination (1-based `page`), fetching one extra row to know if more exist."""
    if not 1 <= page <= MAX_PAGE_NUMBER:
        raise InvalidParameter(f"`page` must be an integer from 1 to {MAX_PAGE_NUMBER}.",
                               errors={"page": ["out of range"]})
    rows = fetch(query.order_by(*order_by(keys)).limit(limit + 1).offset((page - 1) * limit))
    last = len(rows) <= limit
    return Page(rows=rows[:limit], size=limit, first=page == 1, last=last, page_number=page)


def page_meta(page: Page, self_url: str, next_url: str | None) -> dict:
    """003's `meta` block; `count` is the number of rows on this page (the table is never counted)."""
    meta = {
        "count": len(page.rows),
        "page": {"size": page.size, "next_cursor": page.next_cursor, "last": page.last, "first": page.first},
        "links": {"self": self_url, "next": next_url},
    }
    return meta


def paginate_block(page: Page) -> dict | None:
    """002's `{hasNextPage, nextPage}` for page/limit requests, else None."""
    if page.page_number is None:
        return None
    return {"hasNextPage": not page.last, "nextPage": None if page.last else page.page_number + 1}


def request_links(page: Page) -> tuple[str, str | None]:
    """`self` (the URL as requested) and `next` (the same with the new cursor or page number) URLs for the
    current Flask request."""
    from urllib.parse import quote, unquote_plus

    from flask import request

    base = f"{request.scheme}://{request.host}{quote(request.root_path + request.path)}"  # = request.base_url
    query = request.query_string.decode("latin-1")
    self_url = f"{base}?{query}" if query else base
    if page.last:
        return self_url, None
    name, value = (("page", str(page.page_number + 1)) if page.page_number is not None
                   else ("page[cursor]", page.next_cursor))
    kept = [pair for pair in query.split("&") if pair and unquote_plus(pair.split("=", 1)[0]) != name]
    return self_url, f"{base}?{'&'.join([*kept, f'{quote(name)}={quote(value)}'])}"


def page_body(page: Page, render: Callable) -> dict:
    """The list body for the current request: `{"data": [render(row), ...], "meta": {...}}`, plus 002's
    `paginate` block when the page was asked for by number."""
    self_url, next_url = request_links(page)
    body = {"data": [render(row) for row in page.rows], "meta": page_meta(page, self_url, next_url)}
    block = paginate_block(page)
    if block is not None:
        body["paginate"] = block
    return body


class CursorPageQuery(Schema):
    """The query arguments of a cursor-paged list: `page[size]` and `page[cursor]` (subclass to add filters)."""

    page_size = fields.Integer(data_key="page[size]", validate=validate.Range(min=1, max=MAX_PAGE_SIZE))
    page_cursor = fields.String(data_key="page[cursor]", validate=validate.Length(max=2048))


class PageNumberQuery(Schema):
    """002's page/limit query arguments: 1-based `page` and `limit` (1..MAX_PAGE_SIZE, default 20); bad values
    are the usual 422 `validation_error`."""

    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_PAGE_NUMBER))
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=MAX_PAGE_SIZE))

"""Multipart/form-data bodies with 003's bracketed keys (`list[name]`, `template[background]`): the text fields
and one uploaded file, the body refused before it is read when it is too large.

Parsing only; what the fields may hold is the schema's and the service's business.
"""

from __future__ import annotations

from flask import request
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import RequestEntityTooLarge

from core.errors import INVALID_INPUT, ApiError, Unprocessable

MULTIPART_OVERHEAD = 64 * 1024  # the text fields and multipart headers around the file


def field_name(prefix: str, key: str | None) -> str:
    """`list[name]` -> `name` for prefix `list` (bare keys are taken too; a part without a name is "")."""
    key = key or ""
    start = f"{prefix}["
    return key[len(start):-1] if key.startswith(start) and key.endswith("]") else key


def multipart_fields(prefix: str, file_field: str, max_file_bytes: int,
                     too_large: ApiError) -> tuple[dict, FileStorage | None]:
    """The text fields (keys without `prefix[...]`) and the file `file_field` of this multipart request;
    `too_large` (a 413) for a body over the file limit plus `MULTIPART_OVERHEAD`, 422 for any other file."""
    limit = max_file_bytes + MULTIPART_OVERHEAD
    if request.content_length is not None and request.content_length > limit:
        raise too_large
    request.max_content_length = limit
    try:
        form, files = request.form, request.files
    except RequestEntityTooLarge as exc:
        raise too_large from exc
    upload = None
    for key, value in files.items():
        if field_name(prefix, key) != file_field:
            raise Unprocessable(INVALID_INPUT, type="validation_error",
                                errors={"form": {key or "": ["Unknown field."]}})
        upload = value
    return {field_name(prefix, key): value for key, value in form.items()}, upload

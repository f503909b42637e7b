"""Bodies sent as JSON or as multipart/form-data with 003's bracketed keys (`list[name]`,
`template[background]`): the text fields and one uploaded file, the body refused before it is read when it is
too large, loaded with the route's schema.

Parsing only; what the fields may hold is the schema's and the service's business.
"""

from __future__ import annotations

from flask import request
from marshmallow import ValidationError
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import RequestEntityTooLarge

from core.api_schema import Schema
from core.errors import INVALID_INPUT, ApiError, BadRequest, Unprocessable

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


def load_body(schema: Schema, prefix: str, file_field: str, max_file_bytes: int, too_large: ApiError, what: str,
              blank_is_null: tuple[str, ...] = ()) -> tuple[dict, FileStorage | None, str]:
    """This request's body loaded with `schema`: JSON (bare or as the schema unwraps it), or multipart
    (`multipart_fields`; the fields in `blank_is_null` sent empty become null). Returns the data, the uploaded
    file (multipart only) and where the body was (`json` or `form`, as 422 `validation_error` names it)."""
    if request.mimetype == "multipart/form-data":
        raw, upload = multipart_fields(prefix, file_field, max_file_bytes, too_large)
        raw.update({name: None for name in blank_is_null if raw.get(name) == ""})
        location = "form"
    else:
        raw, upload, location = request.get_json(silent=True), None, "json"
        if raw is None:
            raise BadRequest(f"Send the {what} as a JSON object or as multipart/form-data.", type="invalid_body")
    try:
        return schema.load(raw), upload, location
    except ValidationError as exc:
        raise Unprocessable(INVALID_INPUT, type="validation_error", errors={location: exc.messages}) from exc

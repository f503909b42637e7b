"""CyberSource's two signatures: Secure Acceptance's signed form fields and the REST API's HTTP Signature.

Pure functions over strings and bytes; never logs or returns a secret, and compares signatures in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from email.utils import formatdate

REST_SIGNED_HEADERS = "host date request-target digest v-c-merchant-id"


def data_to_sign(fields: Mapping[str, str], signed_field_names: str) -> str:
    """The `name=value` pairs of the fields `signed_field_names` lists (comma separated), in that order, joined
    by commas: what Secure Acceptance signs. KeyError for a listed field the form lacks."""
    return ",".join(f"{name}={fields[name]}" for name in signed_field_names.split(","))


def sign_fields(secret_key: str, fields: Mapping[str, str]) -> str:
    """Base64(HMAC-SHA256(secret_key, data_to_sign)) over the fields listed in `fields["signed_field_names"]`."""
    message = data_to_sign(fields, fields["signed_field_names"]).encode()
    return base64.b64encode(hmac.new(secret_key.encode(), message, hashlib.sha256).digest()).decode()


def fields_signed(secret_key: str, fields: Mapping[str, str], required: tuple[str, ...] = ()) -> bool:
    """True when `fields["signature"]` is the signature of the fields its `signed_field_names` lists (compared
    in constant time) and every name in `required` is among them."""
    names = fields.get("signed_field_names")
    signature = fields.get("signature")
    if not isinstance(names, str) or not isinstance(signature, str) or not names:
        return False
    listed = names.split(",")
    if any(name not in listed for name in required) or any(name not in fields for name in listed):
        return False
    return hmac.compare_digest(sign_fields(secret_key, fields).encode(), signature.encode())


def digest_header(body: bytes) -> str:
    """The REST `Digest` header of a request body: `SHA-256=` and the Base64 of its SHA-256."""
    return "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode()


def rest_signature(shared_secret: str, values: Mapping[str, str]) -> str:
    """Base64(HMAC-SHA256(Base64-decoded shared secret, the `name: value` lines of REST_SIGNED_HEADERS)).

    `values` has `host`, `date`, `request-target` (`post /pts/v2/...`, method in lower case), `digest` and
    `v-c-merchant-id`. ValueError when the shared secret is not Base64 (CyberSource issues it Base64 encoded).
    """
    key = base64.b64decode(shared_secret, validate=True)
    message = "\n".join(f"{name}: {values[name]}" for name in REST_SIGNED_HEADERS.split())
    return base64.b64encode(hmac.new(key, message.encode(), hashlib.sha256).digest()).decode()


def rest_headers(*, host: str, method: str, path: str, body: bytes, merchant_id: str, key_id: str,
                 shared_secret: str, date: str | None = None) -> dict[str, str]:
    """The headers of a REST call signed with CyberSource's HTTP Signature scheme (shared secret key)."""
    values = {"host": host, "date": date or formatdate(usegmt=True), "request-target": f"{method.lower()} {path}",
              "digest": digest_header(body), "v-c-merchant-id": merchant_id}
    signature = rest_signature(shared_secret, values)
    return {
        "v-c-merchant-id": merchant_id,
        "Date": values["date"],
        "Host": host,
        "Digest": values["digest"],
        "Signature": f'keyid="{key_id}", algorithm="HmacSHA256", headers="{REST_SIGNED_HEADERS}", '
                     f'signature="{signature}"',
        "Content-Type": "application/json",
    }

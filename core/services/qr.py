"""Signed ticket QR payloads: compact binary + Ed25519 signature under the tenant key, base45 text, PNG.

Verification needs only the tenant's public key (door devices work offline); this module never reads
ticket state and never stores a secret: the payload is derived from (ticket id, event, secret_version). A
ticket that took a barcode pool code shows that code instead (`scan_text`). A rotating code (`BO2:`, the same
signed bytes followed by a time step and a code, `core.services.rotating_qr`) is parsed here too; its code is
checked there, with the event's door secret, which this module never sees.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import io
import struct
import uuid
from dataclasses import dataclass

import qrcode
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from qrcode.constants import ERROR_CORRECT_M

from core.memo import BoundedMemo
from core.signing import load_private_key, load_public_key

PREFIX = "BO1:"
LIVE_PREFIX = "BO2:"  # a rotating code: the signed payload, its time step and its code (`core.services.rotating_qr`)
FORMAT_VERSION = 1
_BODY = struct.Struct(">B16s8sH")  # version, ticket uuid, event hash prefix, secret_version
SIGNATURE_BYTES = 64
PAYLOAD_BYTES = _BODY.size + SIGNATURE_BYTES
_LIVE_TAIL = struct.Struct(">I5s")  # a rotating code's time step (uint32 big-endian) and code (5 bytes)
LIVE_PAYLOAD_BYTES = PAYLOAD_BYTES + _LIVE_TAIL.size
MAX_SECRET_VERSION = 0xFFFF
_B45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_B45_BYTES = _B45.encode()
_B45_VALUES = bytes.maketrans(_B45_BYTES, bytes(range(45)))  # character -> its base45 value

# Texts that verified, by tenant key: the same text verifies the same way again, and a door sees the same code
# more than once (double scans, re-entry). Failures are never remembered.
_VERIFIED = BoundedMemo(16384)

PAYLOAD_FORMAT_DOC = (
    "Text 'BO1:' + base45 (RFC 9285) of 91 bytes: version (1 byte, =1) | ticket id (16-byte UUID) | "
    "SHA-256(event id)[:8] | secret version (uint16 big-endian) | Ed25519 signature (64 bytes) over "
    "the first 27 bytes, under the organisation's public key. A valid signature proves the ticket was "
    "issued by this organisation; revocation (transfer, cancel, refund) bumps the secret version or "
    "status, so online validation is still needed to know current state. A rotating QR type's tickets show "
    "'BO2:' codes instead: the same 91 bytes, a 15-second step and a code from the event's door secret (the "
    "`stale_code` door rule's `format`, GET /events/scanner/rules)."
)


class QrDecodeError(ValueError):
    """The text is not a Boxoffice ticket payload (`reason` 'unknown') or its signature fails ('forged')."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class QrClaims:
    """What a verified payload says: the ticket, a hash of its event, and the secret version signed; a rotating
    code (`BO2:`) also its time `step` and `code`, not checked yet (`core.services.rotating_qr.check_live_code`)."""

    ticket_id: str
    event_hash: bytes
    secret_version: int
    step: int | None = None
    code: bytes | None = None

    @property
    def live(self) -> bool:
        """True for a rotating code (`BO2:`), False for the static signed payload (`BO1:`)."""
        return self.step is not None

    def matches_event(self, event_id: str) -> bool:
        """True when the payload was issued for `event_id`."""
        return self.event_hash == event_hash(event_id)


def b45encode(data: bytes) -> str:
    """RFC 9285 base45: two bytes -> three characters of the QR alphanumeric set."""
    out = []
    for i in range(0, len(data) - 1, 2):
        n = data[i] * 256 + data[i + 1]
        c, n = divmod(n, 45 * 45)
        b, a = divmod(n, 45)
        out += [_B45[a], _B45[b], _B45[c]]
    if len(data) % 2:
        b, a = divmod(data[-1], 45)
        out += [_B45[a], _B45[b]]
    return "".join(out)


def b45decode(text: str) -> bytes:
    """Inverse of `b45encode`; ValueError on characters or lengths that base45 cannot produce."""
    try:
        encoded = text.encode("ascii")
    except UnicodeEncodeError as exc:
        raise ValueError("not base45") from exc
    if encoded.translate(None, _B45_BYTES):
        raise ValueError("not base45")
    values = encoded.translate(_B45_VALUES)
    if len(values) % 3 == 1:
        raise ValueError("bad base45 length")
    whole = len(values) - len(values) % 3
    pairs = [values[i] + values[i + 1] * 45 + values[i + 2] * 2025 for i in range(0, whole, 3)]
    if pairs and max(pairs) > 0xFFFF:
        raise ValueError("base45 overflow")
    out = struct.pack(f">{len(pairs)}H", *pairs)
    if whole < len(values):
        last = values[whole] + values[whole + 1] * 45
        if last > 0xFF:
            raise ValueError("base45 overflow")
        out += bytes((last,))
    return out


def event_hash(event_id: str) -> bytes:
    """The 8-byte event binding carried in a payload."""
    return hashlib.sha256(event_id.encode()).digest()[:8]


@functools.lru_cache(maxsize=1024)
def _private_key(encoded: str) -> Ed25519PrivateKey:
    return load_private_key(encoded)


@functools.lru_cache(maxsize=1024)
def _public_key(encoded: str) -> Ed25519PublicKey:
    return load_public_key(encoded)


@functools.lru_cache(maxsize=4096)
def _signed_bytes(private_key_b64: str, ticket_id: str, event_id: str, secret_version: int) -> bytes:
    if not 0 <= secret_version <= MAX_SECRET_VERSION:
        raise ValueError("secret_version out of range for the QR format")
    body = _BODY.pack(FORMAT_VERSION, uuid.UUID(ticket_id).bytes, event_hash(event_id), secret_version)
    return body + _private_key(private_key_b64).sign(body)


def signed_bytes_for(org, ticket) -> bytes:
    """The 91 signed bytes of a ticket's static payload (what `BO1:` encodes, and a rotating code starts with)."""
    return _signed_bytes(org.signing_private_key, ticket.id, ticket.event_id, ticket.secret_version)


def live_text(signed: bytes, step: int, code: bytes) -> str:
    """A rotating code's QR text: `BO2:` + base45(the 91 signed bytes | step (uint32 BE) | code (5 bytes))."""
    return LIVE_PREFIX + b45encode(signed + _LIVE_TAIL.pack(step, code))


def payload_for(org, ticket) -> str:
    """The QR text for a ticket under its tenant's key (deterministic: Ed25519 signatures are)."""
    return payload_from_parts(org.signing_private_key, ticket.id, ticket.event_id, ticket.secret_version)


@functools.lru_cache(maxsize=4096)
def payload_from_parts(private_key_b64: str, ticket_id: str, event_id: str, secret_version: int) -> str:
    """The QR text for explicit parts (cached: the same inputs always give the same text)."""
    return PREFIX + b45encode(_signed_bytes(private_key_b64, ticket_id, event_id, secret_version))


def verify_payload(public_key_b64: str, text: object, *, private_key_b64: str | None = None) -> QrClaims:
    """Check a scanned text with the tenant's public key (offline, as door devices do); raise QrDecodeError
    if unusable. Given the tenant's private key too, the server checks the signature by deriving it again,
    which costs a third of a verification (`signature_matches`). A rotating code (`BO2:`) verifies its signed
    part exactly like a `BO1:` text and carries its step and code in the claims, unchecked."""
    if not isinstance(text, str) or not text.startswith((PREFIX, LIVE_PREFIX)) or len(text) > 400:
        raise QrDecodeError("unknown", "This is not a Boxoffice ticket code.")
    live = text.startswith(LIVE_PREFIX)
    remembered = None if live else _VERIFIED.get((public_key_b64, text))
    if remembered is not None:
        return remembered
    try:
        raw = b45decode(text[len(PREFIX):])
    except ValueError as exc:
        raise QrDecodeError("unknown", "This ticket code is damaged or incomplete.") from exc
    if len(raw) != (LIVE_PAYLOAD_BYTES if live else PAYLOAD_BYTES) or raw[0] != FORMAT_VERSION:
        raise QrDecodeError("unknown", "This ticket code is damaged or of an unknown format.")
    claims = _verified_signed_part(public_key_b64, raw[:PAYLOAD_BYTES], private_key_b64)
    if not live:
        return claims
    step, code = _LIVE_TAIL.unpack(raw[PAYLOAD_BYTES:])
    return QrClaims(claims.ticket_id, claims.event_hash, claims.secret_version, step, code)


def _verified_signed_part(public_key_b64: str, signed: bytes, private_key_b64: str | None) -> QrClaims:
    """The claims of the 91 signed bytes, remembered by their `BO1:` text once they verified."""
    static_text = PREFIX + b45encode(signed)
    remembered = _VERIFIED.get((public_key_b64, static_text))
    if remembered is not None:
        return remembered
    body, signature = signed[:_BODY.size], signed[_BODY.size:]
    if not signature_matches(body, signature, public_key_b64, private_key_b64):
        raise QrDecodeError("forged", "This ticket code was not issued by this organisation.")
    _, ticket_bytes, ev_hash, secret_version = _BODY.unpack(body)
    claims = QrClaims(str(uuid.UUID(bytes=ticket_bytes)), ev_hash, secret_version)
    _VERIFIED.put((public_key_b64, static_text), claims)
    return claims


def signature_matches(body: bytes, signature: bytes, public_key_b64: str, private_key_b64: str | None = None) -> bool:
    """True when `signature` is the tenant's Ed25519 signature of `body`.

    With the private key, the signature is derived again and compared in constant time: Ed25519 signing is
    deterministic (RFC 8032), so every payload this server issued carries exactly that signature, and only
    the key holder can make any valid signature at all. Without it, a standard verification.
    """
    if private_key_b64 is not None:
        return hmac.compare_digest(_private_key(private_key_b64).sign(body), signature)
    try:
        _public_key(public_key_b64).verify(signature, body)
    except InvalidSignature:
        return False
    return True


def make_qr(text: str) -> qrcode.QRCode:
    """A QR symbol for `text` at error correction M, smallest version that fits."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=8, border=4)
    code.add_data(text)
    code.make(fit=True)
    return code


def render_png(text: str) -> bytes:
    """The QR symbol of `text` as PNG bytes (not cached: for texts that change, like a rotating code)."""
    buffer = io.BytesIO()
    make_qr(text).make_image().save(buffer, format="PNG")
    return buffer.getvalue()


@functools.lru_cache(maxsize=2048)
def _png_for(text: str) -> bytes:
    return render_png(text)


def barcode_of(ticket) -> str | None:
    """The code the ticket took from its configuration's barcode pool (kept in its `data`), or None."""
    return (ticket.data or {}).get("barcode")


def scan_text(org, ticket) -> str:
    """What the ticket's QR encodes: its barcode pool code when it took one, else the signed payload."""
    return barcode_of(ticket) or payload_for(org, ticket)


def png_for(org, ticket) -> bytes:
    """The ticket's QR as PNG bytes (`scan_text`), cached in-process by that text (for a signed payload: by
    ticket id and secret_version)."""
    return _png_for(scan_text(org, ticket))


def public_key_info(org) -> dict:
    """What a door device needs to verify payloads offline: the tenant's Ed25519 public key and format."""
    key = _public_key(org.signing_public_key)
    pem = key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return {
        "org": org.id,
        "algorithm": "Ed25519",
        "publicKey": {"raw": base64.b64encode(raw).decode(), "pem": pem.decode()},
        "payloadPrefix": PREFIX,
        "payloadFormat": PAYLOAD_FORMAT_DOC,
    }

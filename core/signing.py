"""Ed25519 keypairs per tenant: generated at tenant creation, used to sign ticket QR payloads.

Keys are stored as base64 raw bytes; the private key never leaves the server.
"""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey


def generate_keypair() -> tuple[str, str]:
    """A new (private, public) Ed25519 keypair, each as base64 of the raw 32 bytes."""
    private = Ed25519PrivateKey.generate()
    raw_private = private.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                        serialization.NoEncryption())
    raw_public = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw_private).decode(), base64.b64encode(raw_public).decode()


def load_private_key(encoded: str) -> Ed25519PrivateKey:
    """The private key from its stored base64 form."""
    return Ed25519PrivateKey.from_private_bytes(base64.b64decode(encoded))


def load_public_key(encoded: str) -> Ed25519PublicKey:
    """The public key from its stored base64 form."""
    return Ed25519PublicKey.from_public_bytes(base64.b64decode(encoded))

"""A tenant's Apple pass-type certificate: checked on upload (PEM, key matches, dates, issued by the Apple WWDR
intermediate it comes with), kept sealed under the deployment key, shown only as identifiers and dates.

Knows nothing of HTTP. Never returns, logs or stores in plain text the certificate's private key or password;
`signing_material` opens them only to sign a pass.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from core.db import write_transaction
from core.errors import Conflict, Unprocessable
from core.models import Org, WalletCertificate, utcnow
from core.sealed import seal, unseal
from core.services.wallet_templates import lock_wallet_changes
from core.tenancy import scoped

PASS_TYPE_ID = re.compile(r"pass\.[A-Za-z0-9][A-Za-z0-9.-]{0,190}")
TEAM_ID = re.compile(r"[A-Z0-9]{10}")
MAX_PEM = 20000


@dataclass(frozen=True)
class SigningMaterial:
    """What signing a pass needs: the identifiers, the pass certificate, its private key and the WWDR
    intermediate certificate."""

    pass_type_identifier: str
    team_identifier: str
    certificate: x509.Certificate
    private_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    wwdr: x509.Certificate


def _refuse(type_: str, field: str, message: str) -> Unprocessable:
    return Unprocessable(message, type=type_, errors={field: [message]})


def _certificate(pem: str, field: str) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(pem.encode())
    except (ValueError, TypeError, UnicodeEncodeError) as exc:
        raise _refuse("invalid_certificate", field, "Not a PEM X.509 certificate.") from exc


def _private_key(pem: str, password: str | None) -> rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey:
    try:
        key = serialization.load_pem_private_key(pem.encode(), password.encode() if password else None)
    except TypeError as exc:  # a password for an unencrypted key, or none for an encrypted one
        raise _refuse("invalid_private_key", "privateKey",
                      "The key's password is missing or was not needed.") from exc
    except (ValueError, UnsupportedAlgorithm, UnicodeEncodeError) as exc:
        raise _refuse("invalid_private_key", "privateKey",
                      "Not a PEM private key, or the password does not open it.") from exc
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise _refuse("invalid_private_key", "privateKey", "Pass certificates use an RSA or EC key.")
    return key


def _public_der(key) -> bytes:
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _check_dates(certificate: x509.Certificate, field: str, now: dt.datetime) -> None:
    if certificate.not_valid_after_utc <= now:
        raise _refuse("certificate_expired", field,
                      f"The certificate expired on {certificate.not_valid_after_utc:%Y-%m-%d}.")
    if certificate.not_valid_before_utc > now:
        raise _refuse("certificate_not_yet_valid", field,
                      f"The certificate is valid only from {certificate.not_valid_before_utc:%Y-%m-%d}.")


def _name_values(name: x509.Name, oid) -> list[str]:
    return [str(attribute.value) for attribute in name.get_attributes_for_oid(oid)]


def checked_material(data: dict) -> SigningMaterial:
    """The upload's parts parsed and checked: `certificate`, `privateKey` (opened with `password`),
    `wwdrCertificate`, `passTypeIdentifier` (`pass.` + reverse DNS), `teamIdentifier` (10 letters/digits).
    The key must be the certificate's, both certificates valid now, the pass certificate issued and signed by
    the WWDR certificate, and when the certificate names its pass type (UID) or team (OU), the same ones.
    422 with a `type` per problem (`invalid_certificate`, `invalid_private_key`, `certificate_key_mismatch`,
    `certificate_expired`, `certificate_not_yet_valid`, `certificate_not_issued_by_wwdr`,
    `certificate_identifier_mismatch`, `validation_error`)."""
    pass_type, team = data["passTypeIdentifier"], data["teamIdentifier"]
    errors = {}
    if not PASS_TYPE_ID.fullmatch(pass_type):
        errors["passTypeIdentifier"] = ["Must be the pass type identifier, e.g. pass.com.example.tickets."]
    if not TEAM_ID.fullmatch(team):
        errors["teamIdentifier"] = ["Must be the 10-character Apple team identifier."]
    if errors:
        raise Unprocessable("The pass type or team identifier is malformed.", type="validation_error",
                            errors=errors)
    certificate = _certificate(data["certificate"], "certificate")
    wwdr = _certificate(data["wwdrCertificate"], "wwdrCertificate")
    key = _private_key(data["privateKey"], data.get("password"))
    if _public_der(key.public_key()) != _public_der(certificate.public_key()):
        raise _refuse("certificate_key_mismatch", "privateKey", "The private key is not the certificate's key.")
    now = dt.datetime.now(dt.UTC)
    _check_dates(certificate, "certificate", now)
    _check_dates(wwdr, "wwdrCertificate", now)
    try:
        certificate.verify_directly_issued_by(wwdr)
    except (ValueError, TypeError, InvalidSignature) as exc:
        raise _refuse("certificate_not_issued_by_wwdr", "wwdrCertificate",
                      "The pass certificate was not issued by this WWDR intermediate certificate.") from exc
    for oid, value, field in ((NameOID.USER_ID, pass_type, "passTypeIdentifier"),
                              (NameOID.ORGANIZATIONAL_UNIT_NAME, team, "teamIdentifier")):
        named = _name_values(certificate.subject, oid)
        if named and value not in named:
            raise _refuse("certificate_identifier_mismatch", field,
                          f"The certificate is for {named[0]!r}, not {value!r}.")
    return SigningMaterial(pass_type, team, certificate, key, wwdr)


def configure(org: Org, data: dict) -> WalletCertificate:
    """Check the upload (`checked_material`) and make it the tenant's pass-type certificate, replacing any
    before; the PEMs and password are stored sealed, never in plain text."""
    material = checked_material(data)
    secret = {"certificate": data["certificate"], "privateKey": data["privateKey"],
              "password": data.get("password") or None, "wwdrCertificate": data["wwdrCertificate"]}
    values = {
        "pass_type_identifier": material.pass_type_identifier, "team_identifier": material.team_identifier,
        "subject": material.certificate.subject.rfc4514_string()[:500],
        "fingerprint": material.certificate.fingerprint(hashes.SHA256()).hex(),
        "not_after": material.certificate.not_valid_after_utc.replace(tzinfo=None),
        "wwdr_subject": material.wwdr.subject.rfc4514_string()[:500],
        "sealed": seal(json.dumps(secret)),
    }
    with write_transaction():
        lock_wallet_changes(org)   # two uploads at once: the second replaces the first
        row = scoped(WalletCertificate, org).first()
        if row is None:
            row = WalletCertificate(org=org, **values)
            row.save(force_insert=True)
        else:
            for name, value in values.items():
                setattr(row, name, value)
            row.save()
    return row


def current(org: Org) -> WalletCertificate:
    """The tenant's certificate record, or 409 `wallet_not_configured`."""
    row = scoped(WalletCertificate, org).first()
    if row is None:
        raise Conflict("Apple Wallet passes are not set up: an admin uploads the pass type certificate first.",
                       type="wallet_not_configured")
    return row


def configured(org: Org) -> bool:
    """True when the tenant has uploaded a pass type certificate (its tickets may offer Apple Wallet passes)."""
    return scoped(WalletCertificate, org).exists()


def remove(org: Org) -> None:
    """Forget the tenant's certificate (409 `wallet_not_configured` when there is none)."""
    row = current(org)
    with write_transaction():
        row.delete_instance()


def signing_material(org: Org) -> SigningMaterial:
    """The tenant's certificate opened for signing; 409 `wallet_not_configured` when there is none, or when
    it was sealed under another deployment key or has expired since it was uploaded
    (`wallet_certificate_unusable`)."""
    row = current(org)
    opened = unseal(row.sealed)
    if opened is None:
        raise Conflict("The stored pass certificate cannot be opened with this deployment's key; upload it again.",
                       type="wallet_certificate_unusable")
    secret = json.loads(opened)
    if row.not_after <= utcnow():
        raise Conflict("The pass type certificate has expired; upload a renewed one.",
                       type="wallet_certificate_unusable")
    certificate = x509.load_pem_x509_certificate(secret["certificate"].encode())
    password = secret.get("password")
    key = serialization.load_pem_private_key(secret["privateKey"].encode(), password.encode() if password else None)
    wwdr = x509.load_pem_x509_certificate(secret["wwdrCertificate"].encode())
    return SigningMaterial(row.pass_type_identifier, row.team_identifier, certificate, key, wwdr)

"""Test helper: a self-signed stand-in for Apple's WWDR intermediate and a pass type certificate it issued, made
with `cryptography`, as PEM texts ready for `PUT /wallet/certificate`.

Never used by the app; each call makes new keys (RSA 2048), so two tenants never share a certificate.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

PASS_TYPE = "pass.com.example.boxoffice"
TEAM = "ABCDE12345"


@dataclass
class PassCertificate:
    """The PEM texts of a pass certificate, its key (encrypted with `password` when one is set) and its CA."""

    certificate: str
    private_key: str
    password: str | None
    ca: str
    ca_key: rsa.RSAPrivateKey

    def body(self, **overrides) -> dict:
        """The `PUT /wallet/certificate` body for this certificate."""
        body = {"certificate": self.certificate, "privateKey": self.private_key, "password": self.password,
                "wwdrCertificate": self.ca, "passTypeIdentifier": PASS_TYPE, "teamIdentifier": TEAM}
        return {**body, **overrides}


def _name(*parts) -> x509.Name:
    return x509.Name([x509.NameAttribute(oid, value) for oid, value in parts])


def _pem(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


def make_ca(days: int = 3650) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
    """A self-signed CA certificate (the WWDR intermediate's stand-in) and its key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = dt.datetime.now(dt.UTC)
    name = _name((NameOID.COMMON_NAME, "Test WWDR Certification Authority"), (NameOID.ORGANIZATION_NAME, "Test"))
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
                   .not_valid_after(now + dt.timedelta(days=days))
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                   .sign(key, hashes.SHA256()))
    return certificate, key


def make_pass_certificate(password: str | None = "s3cret pass", *, days: int = 365, starts_in_days: int = -1,
                          pass_type: str = PASS_TYPE, team: str = TEAM) -> PassCertificate:
    """A pass type certificate issued by a new test CA, valid from `starts_in_days` for `days`, naming
    `pass_type` (UID) and `team` (OU) as Apple's do."""
    ca, ca_key = make_ca()
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    start = dt.datetime.now(dt.UTC) + dt.timedelta(days=starts_in_days)
    subject = _name((NameOID.USER_ID, pass_type), (NameOID.COMMON_NAME, f"Pass Type ID: {pass_type}"),
                    (NameOID.ORGANIZATIONAL_UNIT_NAME, team), (NameOID.ORGANIZATION_NAME, "Example Org"))
    certificate = (x509.CertificateBuilder().subject_name(subject).issuer_name(ca.subject)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(start).not_valid_after(start + dt.timedelta(days=days))
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                   .sign(ca_key, hashes.SHA256()))
    encryption = (serialization.BestAvailableEncryption(password.encode()) if password
                  else serialization.NoEncryption())
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption).decode()
    return PassCertificate(_pem(certificate), key_pem, password, _pem(ca), ca_key)


def configure_wallet(tenant, certificate: PassCertificate | None = None, **template) -> dict:
    """Upload a (new) pass certificate for `tenant` and create a default wallet template; returns the template."""
    certificate = certificate or make_pass_certificate()
    answer = tenant.staff.put("/wallet/certificate", json=certificate.body())
    assert answer.status_code == 200, answer.get_json()
    made = tenant.staff.post("/wallet-templates", json={"name": "Default pass", "is_default": True, **template})
    assert made.status_code == 201, made.get_json()
    return made.get_json()["data"]

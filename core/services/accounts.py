"""Customer accounts and staff API keys: register, log in, exchange a key for a token.

Never reveals which part of a credential was wrong, never stores a plain password or key.
"""

from __future__ import annotations

from peewee import IntegrityError

from core.auth import hash_api_key, hash_password, verify_password
from core.db import write_transaction
from core.errors import Conflict, Unauthorized
from core.models import ApiKey, Customer, Org
from core.tenancy import scoped

_DUMMY_HASH = hash_password("timing-equaliser")


def normalise_email(email: str) -> str:
    """Emails compare case-insensitively and without surrounding spaces."""
    return email.strip().lower()


def register_customer(org: Org, *, email: str, password: str, name: str = "", phone: str | None = None) -> Customer:
    """Create a customer account; 409 `email_taken` if the email is registered with this tenant."""
    email = normalise_email(email)
    if scoped(Customer, org).where(Customer.email == email).exists():
        raise Conflict("An account with this email already exists; log in instead.", type="email_taken")
    password_hash = hash_password(password)
    try:
        with write_transaction():
            return Customer.create(org=org, email=email, name=name, phone=phone, password_hash=password_hash)
    except IntegrityError as exc:
        raise Conflict("An account with this email already exists; log in instead.",
                       type="email_taken") from exc


def authenticate_customer(org: Org, *, email: str, password: str) -> Customer:
    """The customer with these credentials, or 401 `invalid_credentials` (same answer for either part)."""
    customer = scoped(Customer, org).where(Customer.email == normalise_email(email)).first()
    stored = customer.password_hash if customer else _DUMMY_HASH
    if not verify_password(password, stored) or customer is None:
        raise Unauthorized("Email or password is incorrect.", type="invalid_credentials")
    return customer


def authenticate_api_key(org: Org, key: str) -> ApiKey:
    """The live staff API key of this tenant matching `key`, or 401 `invalid_api_key`."""
    record = scoped(ApiKey, org).where(
        (ApiKey.key_hash == hash_api_key(key)) & ApiKey.revoked_at.is_null()
    ).first()
    if record is None:
        raise Unauthorized("The API key is not valid for this organisation.", type="invalid_api_key")
    return record

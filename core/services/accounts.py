"""Customer accounts and staff API keys: register, log in, exchange a key for a token.

Never reveals which part of a credential was wrong, never stores a plain password or key.
"""

from __future__ import annotations

from peewee import IntegrityError

from core.api_keys import hash_api_key, note_use
from core.auth import forget_sessions, hash_password, verify_password
from core.db import write_transaction
from core.errors import Conflict, Forbidden, Unauthorized
from core.identity import API_KEY_SUB
from core.models import ApiKey, Customer, Org, utcnow
from core.tenancy import get_scoped, scoped

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


def end_sessions(org: Org, customer_id: str, *, password_hash: str | None = None) -> Customer:
    """Refuse every token the customer holds so far (log out everywhere), optionally setting a new password
    hash in the same write. A token issued after this call is live."""
    changes = {Customer.sessions_valid_after: utcnow(), Customer.updated_at: utcnow()}
    if password_hash is not None:
        changes[Customer.password_hash] = password_hash
    with write_transaction():
        Customer.update(changes).where((Customer.id == customer_id) & (Customer.org == org.id)).execute()
    forget_sessions(customer_id)
    return get_scoped(Customer, org, customer_id, "customer")


def change_password(org: Org, customer_id: str, *, current_password: str, new_password: str) -> Customer:
    """Set a new password after checking the current one (403 `wrong_password`); every other session ends."""
    customer = get_scoped(Customer, org, customer_id, "customer")
    if not verify_password(current_password, customer.password_hash):
        raise Forbidden("The current password is not correct.", type="wrong_password")
    return end_sessions(org, customer.id, password_hash=hash_password(new_password))


def authenticate_api_key(org: Org, key: str) -> ApiKey:
    """The live staff API key of this tenant matching `key` (its use is recorded), or 401 `invalid_api_key`."""
    record = scoped(ApiKey, org).where(
        (ApiKey.key_hash == hash_api_key(key)) & ApiKey.revoked_at.is_null()
    ).first()
    if record is None:
        raise Unauthorized("The API key is not valid for this organisation.", type="invalid_api_key")
    note_use(API_KEY_SUB + record.id)
    return record

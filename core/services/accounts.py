"""Customer accounts and staff API keys: register, log in, profile and username, the officer role of an
account, exchange a key for a token.

Never reveals which part of a credential was wrong, never stores a plain password or key.
"""

from __future__ import annotations

import re

from peewee import Expression, IntegrityError

from core.api_keys import hash_api_key, note_use
from core.auth import forget_sessions, hash_password, verify_password
from core.db import write_transaction
from core.errors import Conflict, Forbidden, NotFound, Unauthorized, Unprocessable
from core.identity import API_KEY_SUB
from core.models import ApiKey, Customer, Org, utcnow
from core.services import account_links, audit, email_verification
from core.tenancy import get_scoped, scoped

_DUMMY_HASH = hash_password("timing-equaliser")
USERNAME_MIN, USERNAME_MAX = 3, 150
USERNAME_PATTERN = re.compile(r"[\w.@+-]+")  # Django's: letters, digits (any script) and . @ + - _
USERNAME_RULE = (f"A username is {USERNAME_MIN} to {USERNAME_MAX} letters, digits and the characters . @ + - _ "
                 "(no spaces).")


def normalise_email(email: str) -> str:
    """Emails compare case-insensitively and without surrounding spaces."""
    return email.strip().lower()


def username_key(username: str) -> str:
    """The form usernames are compared in (case ignored, surrounding spaces dropped): unique per tenant."""
    return username.strip().casefold()


def valid_username(username: object) -> str:
    """`username` without surrounding spaces, if it is 3-150 characters of letters, digits and `.@+-_`;
    else 422 `invalid_username`."""
    text = username.strip() if isinstance(username, str) else ""
    if not (USERNAME_MIN <= len(text) <= USERNAME_MAX and USERNAME_PATTERN.fullmatch(text)):
        raise Unprocessable(USERNAME_RULE, type="invalid_username", errors={"username": [USERNAME_RULE]})
    return text


def _username_taken() -> Unprocessable:
    return Unprocessable("This username is taken; choose another.", type="username_taken",
                         errors={"username": ["This username is taken."]})


def _check_username_free(org: Org, key: str, customer_id: str | None = None) -> None:
    others = scoped(Customer, org).where(Customer.username_key == key)
    if customer_id is not None:
        others = others.where(Customer.id != customer_id)
    if others.exists():
        raise _username_taken()


def register_customer(org: Org, *, email: str, password: str, name: str = "", phone: str | None = None,
                      username: str | None = None) -> Customer:
    """Create a customer account (unverified; its verification link is e-mailed in the same transaction when a
    plugin sends e-mails); 409 `email_taken` if the email is registered with this tenant, 422
    `invalid_username` / `username_taken` (case ignored) for a `username` that is malformed or in use."""
    email = normalise_email(email)
    username = valid_username(username) if username is not None else None
    key = username_key(username) if username is not None else None
    if scoped(Customer, org).where(Customer.email == email).exists():
        raise Conflict("An account with this email already exists; log in instead.", type="email_taken")
    if key is not None:
        _check_username_free(org, key)
    password_hash = hash_password(password)
    try:
        with write_transaction():
            customer = Customer.create(org=org, email=email, name=name, phone=phone, password_hash=password_hash,
                                       username=username, username_key=key)
            email_verification.start(org, customer)
            return customer
    except IntegrityError as exc:  # a concurrent registration won the e-mail or the username
        if key is not None and scoped(Customer, org).where(Customer.username_key == key).exists():
            raise _username_taken() from exc
        raise Conflict("An account with this email already exists; log in instead.",
                       type="email_taken") from exc


UNSET = object()  # `update_profile`: a field the request did not send


def update_profile(org: Org, customer_id: str, *, name: object = UNSET, phone: object = UNSET,
                   username: object = UNSET) -> Customer:
    """Change the customer's own `name`, `phone` and/or `username` (None clears the username); fields left
    UNSET keep their value. 422 `invalid_username` / `username_taken` (another account's, case ignored)."""
    customer = get_scoped(Customer, org, customer_id, "customer")
    changes: dict = {}
    if name is not UNSET:
        changes[Customer.name] = name
    if phone is not UNSET:
        changes[Customer.phone] = phone
    if username is not UNSET:
        chosen = valid_username(username) if username is not None else None
        key = username_key(chosen) if chosen is not None else None
        if key is not None:
            _check_username_free(org, key, customer.id)
        changes.update({Customer.username: chosen, Customer.username_key: key})
    if not changes:
        return customer
    changes[Customer.updated_at] = utcnow()
    try:
        with write_transaction():
            Customer.update(changes).where((Customer.id == customer.id) & (Customer.org == org.id)).execute()
    except IntegrityError as exc:  # a concurrent change took the username first
        raise _username_taken() from exc
    return get_scoped(Customer, org, customer.id, "customer")


def profile(org: Org, customer_id: str) -> Customer:
    """The customer's own account (404 `customer_not_found` once it is gone)."""
    return get_scoped(Customer, org, customer_id, "customer")


def customer_by_username(org: Org, username: object) -> Customer:
    """The tenant's customer with this username (case ignored), or 404 `customer_not_found` (also for a
    malformed username, and for another tenant's customer)."""
    customer = None
    if isinstance(username, str) and USERNAME_MIN <= len(username.strip()) <= USERNAME_MAX:
        customer = scoped(Customer, org).where(Customer.username_key == username_key(username)).first()
    if customer is None:
        raise NotFound(f"No account with the username {str(username)[:USERNAME_MAX]!r}.", type="customer_not_found")
    return customer


def set_officer(org: Org, customer_id: str, officer: bool) -> Customer:
    """Grant (`officer=True`) or revoke the officer role of one of the tenant's customers (idempotent; 404
    `customer_not_found`). The account's tokens carry the change from their next request."""
    customer = get_scoped(Customer, org, customer_id, "customer")
    if customer.officer != officer:
        with write_transaction():
            won = Customer.update({Customer.officer: officer, Customer.updated_at: utcnow()}).where(
                (Customer.id == customer.id) & (Customer.org == org.id) & (Customer.officer != officer)).execute()
            if won == 1:
                audit.record(org, "customer.officer_granted" if officer else "customer.officer_revoked", "customer",
                             customer.id, before={"officer": not officer},
                             after={"officer": officer, "email": customer.email})
            forget_sessions(customer.id)
    return get_scoped(Customer, org, customer.id, "customer")


def list_officers(org: Org) -> list[Customer]:
    """The tenant's customers who hold the officer role, by e-mail."""
    return list(scoped(Customer, org).where(Customer.officer == True)  # noqa: E712
                .order_by(Customer.email, Customer.id))


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
    with write_transaction():
        revoke_sessions(org, customer_id, password_hash=password_hash)
        forget_sessions(customer_id)
    return get_scoped(Customer, org, customer_id, "customer")


def revoke_sessions(org: Org, customer_id: str, *, password_hash: str | None = None,
                    where: Expression | None = None, **changes) -> int:
    """Inside the caller's write transaction: refuse every token the customer holds so far, with `password_hash`
    and other column `changes` in the same UPDATE, on the condition `where` too; the rows it changed (0 or 1).
    Call `core.auth.forget_sessions` once the transaction committed."""
    now = utcnow()
    values = {Customer.sessions_valid_after: now, Customer.updated_at: now,
              **{getattr(Customer, name): value for name, value in changes.items()}}
    if password_hash is not None:
        values[Customer.password_hash] = password_hash
    condition = (Customer.id == customer_id) & (Customer.org == org.id)
    return Customer.update(values).where(condition if where is None else condition & where).execute()


def change_password(org: Org, customer_id: str, *, current_password: str, new_password: str) -> Customer:
    """Set a new password after checking the current one (403 `wrong_password`); every other session ends and
    a pending password reset link stops working."""
    customer = get_scoped(Customer, org, customer_id, "customer")
    if not verify_password(current_password, customer.password_hash):
        raise Forbidden("The current password is not correct.", type="wrong_password")
    password_hash = hash_password(new_password)
    with write_transaction():
        revoke_sessions(org, customer.id, password_hash=password_hash)
        account_links.end_links(org, customer.id, account_links.PASSWORD_RESET)
    forget_sessions(customer.id)
    return get_scoped(Customer, org, customer.id, "customer")


def authenticate_api_key(org: Org, key: str) -> ApiKey:
    """The live staff API key of this tenant matching `key` (its use is recorded), or 401 `invalid_api_key`."""
    record = scoped(ApiKey, org).where(
        (ApiKey.key_hash == hash_api_key(key)) & ApiKey.revoked_at.is_null()
    ).first()
    if record is None:
        raise Unauthorized("The API key is not valid for this organisation.", type="invalid_api_key")
    note_use(record.org_id, API_KEY_SUB + record.id)
    return record

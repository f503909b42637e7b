"""Every hook a Boxoffice plugin can implement, one function each with its contract.

Declarations only: never put behaviour here. Hooks are called with keyword arguments, and an implementation
may accept any subset of them. Per-tenant hooks run only for plugins the tenant enabled
(`core.plugins.hooks_for`); app-wide hooks (`register_*`) run once at start-up for every installed plugin.
Lifecycle hooks are recorded in the core's outbox with the change and run after it commits, at least once,
each plugin in a transaction of its own (`core.outbox`); one that raises is retried and never undoes a sale.
"""

from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("boxoffice")
hookimpl = pluggy.HookimplMarker("boxoffice")


# --- wiring (app-wide, at start-up) -------------------------------------------------------------

@hookspec
def register_routes(api, app):
    """Register the plugin's flask-smorest blueprints on `api` (use `core.plugins.plugin_blueprint`).

    Called once per app, for every installed plugin. Routes exist for every tenant; a tenant that has not
    enabled the plugin gets 404 `plugin_not_enabled`. `app` is the Flask app (for error handlers and config).
    """


@hookspec
def register_models():
    """Return the plugin's peewee models (subclasses of `core.models.TenantModel` for tenant data).

    Their tables are created by the plugin's first migration (component = plugin name, version 1), which
    `boxoffice db upgrade` (or the first start) applies once. Change them later with `register_migrations`.
    """


@hookspec
def register_migrations():
    """Return a list of `core.migrations.Migration` (component = plugin name, version 2 and up).

    Each runs once, in version order, in its own transaction; use `playhouse.migrate` for column changes.
    """


@hookspec
def register_audit_actions():
    """Return the audit actions the plugin records, `{"<record>.<event>": "what it means"}` (lower case; a
    core action's name cannot be taken).

    Called once at start-up for every installed plugin; the actions join the fixed list that
    `core.services.audit.record(org, action, record_type, record_id, before=, after=)` accepts. Call `record`
    inside the write transaction of the change it describes (it writes nothing otherwise); the actor (who, from
    which address, which request) is the current one.
    """


@hookspec
def register_commands(cli):
    """Add click commands or groups to the `boxoffice` command line (`cli` is its click group)."""


# --- tenants (per tenant) -------------------------------------------------------------------------

@hookspec
def tenant_created(org):
    """A tenant was provisioned (`boxoffice tenants create` or `POST /operator/tenants`).

    Runs after the commit, only for the plugins the new tenant enabled at creation: seed the plugin's own
    rows for it (default templates, a storefront...). Enabling a plugin later does not call this hook.
    """


# --- payment gateways (per tenant) ---------------------------------------------------------------

@hookspec
def payment_gateways():
    """Return the payment providers this plugin offers: a list of `core.payments.PaymentProvider` objects.

    Each has an `identifier` (what `paymentGateway` names and bookings store), a display `name`, a marshmallow
    `settings_schema` for the tenant's settings of this plugin, and the `capabilities` (steps) it implements;
    the core picks one by identifier and checks a step is declared before calling it (422
    `payment_step_unsupported` otherwise). Called per tenant, only for plugins the tenant enabled; return the
    same objects every time (no per-tenant state). See docs/payments.md.
    """


# --- pricing and catalog (per tenant) ------------------------------------------------------------

@hookspec
def price_booking(org, quote, promo_code, customer, extras):
    """Adjust a booking's `quote` (a `core.services.pricing.Quote`) before it is held.

    `extras` is the purchase request's dict of plugin-specific parts (`PurchaseRequest.extras`, set by a
    plugin's own checkout through `core.services.purchase_requests.purchase_request`); empty otherwise.

    Add lines with ``quote.add_adjustment(kind, description, amount)`` (negative for discounts). A plugin that
    handles `promo_code` calls ``quote.record_code(...)`` with what the booking keeps (the code as sent, or
    only its public part when codes are secrets); a code no plugin took is refused with 422
    `promo_codes_unavailable`. Raise `core.errors.ApiError` to refuse (e.g. 422 `invalid_promo_code`).
    """


@hookspec
def takes_promo_codes(org):
    """Read only: return True when this plugin takes a buyer's promotion code for `org` (its `price_booking`
    calls ``quote.record_code``), so a checkout page shows a code field; say nothing (None) otherwise.
    Answer without a query. Asked through `core.services.pricing.takes_promo_codes`.
    """


@hookspec
def ticket_type_saved(org, ticket_type, created):
    """A ticket type was created (`created` True) or changed; mirror it (e.g. a storefront variant)."""


@hookspec
def ticket_type_deleted(org, ticket_type):
    """A ticket type was deleted or archived."""


@hookspec
def ticket_type_variant_ids(org, ticket_type_ids):
    """Return `{ticket type UUID: numeric id}` of the records this plugin mirrors the tenant's ticket types
    to (e.g. the storefront's variants, 003's `variant_id`), for those of `ticket_type_ids` it mirrors.

    Called once per answer with every ticket type of it (answer in ONE query, not one per id); leave out ids
    you do not mirror. Results are merged; a tenant whose plugins mirror none sees null. Read only.
    """


@hookspec
def event_deleting(org, event_ids):
    """Events are being deleted (`event_ids`: an event with its sessions or dates), inside the deleting write
    transaction; rows with a foreign key to them go with them. Release what the plugin keeps elsewhere
    (quota, files); remove files with `core.db.after_commit`, so nothing goes if the deletion rolls back.
    Runs in a savepoint: raising undoes only this plugin's changes."""


# --- attendee pages (per tenant, read only) -----------------------------------------------------

@hookspec
def attendee_links(org, event, booking):
    """Return `{name: absolute URL}` of the attendee web pages this plugin serves for `event` and, when it is
    not None, `booking` (e.g. `event_page`, `calendar`, `booking_page`, `order_page`, `account_page`,
    `claim_page`), or {} when it serves none.

    Called while a message to an attendee is built (the notifications plugin's e-mails link to them). Read
    only, no query needed for the event's own links. Every enabled plugin's answer is merged; a tenant whose
    plugins serve no pages gets {}, and its messages show no links."""


@hookspec
def event_page_offers(org, event):
    """Return more offers the event's attendee page shows beside its ticket types: `{ticket type UUID: [offer,
    ...]}`, each offer a dict with `kind` (e.g. `resale`), `price` and `currency` (minor units) and `path` (the
    page that sells it, relative to the tenant's pages root, e.g. `resale/<id>`), cheapest first; {} for none.

    Read only, called while the page is built (the `pages` plugin); answer in one query. Every enabled plugin's
    answer is merged per ticket type. The `resale` plugin answers with the listings on public sale (`kind`
    `resale`) and each public type's waiting list (`kind` `waitlist`, shown under sold-out types only)."""


# --- lifecycle (per tenant, after commit) -------------------------------------------------------

@hookspec
def event_published(org, event):
    """An event became visible to customers."""


@hookspec
def event_capacity_raised(org, event):
    """Staff raised an event's capacity (or removed its limit): seats may be free again (the waiting list
    offers them). Recorded in the change's transaction, run after it commits."""


@hookspec
def event_refunded(org, event, job, summary):
    """A bulk refund (`PATCH /events/{id}/refund`, `refund_method: original`) finished and refunded tickets.

    Called by `core.services.bulk_refund` once per job, after its last commit, only when at least one ticket
    was refunded or cancelled (a re-run that changes nothing is silent). `job` is the finished `SyncJob`;
    `summary` holds its counts (refunded, cancelled, skipped_checked_in, skipped_already, failed, failures,
    bookings_refunded, refunded_amount) and the request (refund_method, date_ids, refund_checked_in,
    notify_customer, note). Each ticket also fired `ticket_refunded`, so customers are already told.
    """


@hookspec
def event_cancelled(org, event, job, summary):
    """A bulk cancel (`PATCH /events/{id}/refund`, `refund_method: none`) finished and voided tickets.

    Same call and `summary` as `event_refunded`; each ticket also fired `ticket_cancelled`.
    """


@hookspec
def customer_message(org, event, email, name, subject, body):
    """Staff wrote an e-mail for a buyer about `event`: send `subject` and `body` (plain text, as written)
    to `email` (`name` for the greeting, may be empty).

    Recorded by `core.services.bulk_refund` once per distinct buyer e-mail of the tickets a bulk refund
    (`send_email: true` with `email_template`) refunded or cancelled, in one transaction once its tickets
    are done; the notifications plugin sends it.
    """


@hookspec
def booking_confirmed(org, booking):
    """A booking was paid (or free) and confirmed, exactly once."""


@hookspec
def booking_expired(org, booking):
    """A pending booking's hold ran out and its seats went back on sale."""


@hookspec
def tickets_issued(org, booking, tickets):
    """Tickets were issued (purchase, registration, comp, activation); `booking` may be None."""


@hookspec
def ticket_transferred(org, old_ticket, new_ticket, transfer, claim_token):
    """A ticket was transferred: `old_ticket` revoked, `new_ticket` waits to be claimed with `claim_token`.
    Fires again with a fresh `claim_token` when staff send a new claim link (the old one no longer works)."""


@hookspec
def ticket_claimed(org, ticket, transfer):
    """A transferred ticket was claimed: `ticket` (the new one) now belongs to `transfer.claimed_by`.

    Called by `core.services.transfers.claim` after its commit, once per transfer (e.g. "ticket received"), and
    by `transfer_to_customer` for a transfer by username, which is claimed as it is made.
    """


@hookspec
def ticket_transferred_to_account(org, old_ticket, new_ticket, transfer):
    """A ticket moved straight into another customer's account (a transfer by username): `old_ticket` revoked,
    `new_ticket` owned by `transfer.claimed_by` already (no claim link). `ticket_claimed` fires for the same
    transfer too (the recipient's side); this hook is the sender's side (e.g. "you passed your ticket to ...").

    Called by `core.services.transfers.transfer_to_customer` from the outbox, after its commit.
    """


@hookspec
def member_invited(org, invite, invite_token):
    """Someone was invited to become a staff member of `org` (`invite`: its e-mail, role and expiry). Deliver
    `invite_token` to `invite.email` (the link is `core.services.member_invites.invite_url(org.id, invite_token)`); the
    token is sealed in the outbox and shown nowhere else. When no enabled plugin implements this hook the
    inviting admin gets the link in the answer instead."""


@hookspec
def ticket_checked_in(org, ticket, checkin):
    """A ticket was admitted at a scan point."""


@hookspec
def door_conflict_detected(org, conflict):
    """Offline door devices admitted a ticket beyond what its door rules allow (typically the same single-entry
    ticket at two offline doors), found when their scans were uploaded. `conflict` is the `DoorConflict`: its
    event, ticket, the rule broken (`already_used`), the scan ids involved, the limit and the count.

    Recorded in the outbox with the upload that found it and called once per conflict (later admissions of the
    same ticket join the open conflict without a new call; `core.services.door_conflicts`).
    """


@hookspec
def ticket_cancelled(org, ticket):
    """A ticket was cancelled without refund; its QR no longer scans."""


@hookspec
def ticket_refunded(org, ticket, refund):
    """A ticket was refunded through its gateway; its QR no longer scans."""


@hookspec
def waitlist_changed(org, entry, offer, state, checkout_url):
    """A waiting-list entry changed state (the `resale` plugin's waiting list): `state` is `joined`, `offered`,
    `accepted` (the offer was paid), `lapsed` (the offer ran out and passed to the next in line), `withdrawn` (the
    resale listing offered was withdrawn or sold first; the entry waits again in its place) or `left`.

    `entry` has `event_id`, `ticket_type_id`, `customer_id`, `seats` and `status`; `offer` (None for `joined`,
    and for `left` without an open offer) has `seats`, `expires_at`, `booking_id` (an offer of seats: the
    pending booking holding them) or `listing_id` (an offer of a resale listing), and `status`; `checkout_url`
    is where the customer pays an open offer (the booking's checkout page, or the listing's), else None. Recorded in
    the transaction of the change, once per change; the notifications plugin e-mails the customer (with the
    offer's checkout link), the automation plugin emits `waitlist.<state>`.
    """


@hookspec
def ticket_holder_changed(org, ticket, edit):
    """A customer changed their ticket's holder name and/or e-mail (`ticket` as it now is; `edit` the
    `TicketEdit` with the new and `previous_name`/`previous_email` values, its `fee` and payment).

    Called by `core.services.ticket_edits` after the commit that applied the edit, exactly once per edit (a
    free edit at once, a paid one when its change fee is confirmed). The QR does not change.
    """


# --- customer accounts (per tenant, after commit) -----------------------------------------------

@hookspec
def customer_email_verification(org, customer_id, email, name, link_token, expires_at):
    """Send the customer a link to confirm they own `email` (their account's address): the page at
    `core.services.event_lists.account_page_link(org.id, "verify", link_token)`, which posts the token to
    `POST /client/auth/verify-email`. It works once, until `expires_at` (naive UTC); a newer link replaces it.

    Recorded by `core.services.email_verification` when a customer registers (only when an enabled plugin
    implements this hook) and on `POST /client/auth/verify-email/resend`. `link_token` is sealed in the outbox
    and is the only copy: never log or store it in clear. The notifications plugin sends `email_verification`.
    """


@hookspec
def customer_password_reset(org, customer_id, email, name, link_token, expires_at):
    """Send the customer (at `email`, their account's address) a link to choose a new password: the page at
    `core.services.event_lists.account_page_link(org.id, "reset", link_token)`, which posts the token with the new
    password to `POST /client/auth/password-reset/confirm`. It works once, until `expires_at` (naive UTC); a newer
    reset replaces it.

    Recorded by `core.services.password_reset`'s job, only for an e-mail that has an account here and only when
    an enabled plugin implements this hook (the request's answer is the same either way). `link_token` is sealed
    in the outbox: never log or store it in clear. The notifications plugin sends `password_reset`.
    """


@hookspec
def customer_email_change(org, customer_id, email, name, current_email, link_token, expires_at):
    """Send a link to the NEW address `email` that confirms the customer's change of e-mail from
    `current_email`: the page at `core.services.event_lists.account_page_link(org.id, "email", link_token)`,
    which posts the token to `POST /client/auth/email/confirm`. It works once, until `expires_at` (naive UTC).

    Recorded by `core.services.email_change` when the customer asks for the change (with their password).
    `link_token` is sealed in the outbox: never log or store it in clear. The notifications plugin sends
    `email_change`.
    """


@hookspec
def customer_email_changed(org, customer_id, email, name, new_email):
    """Tell the OLD address `email` that the customer's account now uses `new_email` (so a change they did not
    make does not go unnoticed).

    Recorded by `core.services.email_change` in the transaction that applied the change. The notifications
    plugin sends `email_changed`.
    """


# --- resale (per tenant, after commit) ----------------------------------------------------------

@hookspec
def resale_listing_changed(org, listing, change):
    """A resale listing changed state (the `resale` plugin): `change` is `listed`, `withdrawn` or `sold`;
    `listing` is its row as the change committed it (`ticket_id`, `seller_id`, `status`, `price`, `currency`,
    `fee`, `seller_amount`, `ended_reason`; once sold `buyer_id`, `buyer_ticket`, `seller_refund`).

    Recorded in the transaction that made the change, at most once per change. The automation plugin sends a
    webhook `resale.<change>`; the notifications plugin e-mails the seller (and, once sold, the buyer gets their
    ticket through `tickets_issued`).
    """

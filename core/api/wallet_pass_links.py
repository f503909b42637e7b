"""The Apple Wallet download link an e-mail can carry (`GET /tickets/wallet/<wallet_token>`).

Served without `orgid` or a login: the signed token names the tenant and the ticket
(`core.services.wallet_passes.wallet_link`); a forged, altered or expired token is a 404, like a ticket that
does not exist.
"""

from __future__ import annotations

from flask import Response

from core.api.blueprint import Blueprint
from core.api.wallet_passes import PKPASS_DOC, PKPASS_ERRORS, pkpass_response
from core.services.wallet_passes import WALLET_LINK_PATH, ticket_for_wallet_link
from core.tenancy import tenant_exempt

blp = tenant_exempt(Blueprint("wallet_pass_links", __name__,
                              description="Apple Wallet pass download links from e-mails (signed; no orgid header)"))


@blp.route(WALLET_LINK_PATH + "<wallet_token>", methods=["GET"])
@blp.doc(**PKPASS_DOC)
@blp.error_responses(PKPASS_ERRORS)
def ticket_wallet_link(wallet_token: str) -> Response:
    """Download a ticket's Apple Wallet pass through its signed link; 404 `ticket_not_found` for a link that is
    invalid or expired."""
    org, ticket = ticket_for_wallet_link(wallet_token)
    return pkpass_response(org, ticket)

"""Migration 19: Apple Wallet (`wallet_template`, with its numeric public id, and `wallet_certificate`).

Creates the tables when missing (a fresh database already has them from migration 1). Idempotent.
"""

from core.db import db
from core.models import WalletCertificate, WalletTemplate


def upgrade() -> None:
    """Create the wallet template and certificate tables."""
    db.create_tables([WalletTemplate, WalletCertificate], safe=True)

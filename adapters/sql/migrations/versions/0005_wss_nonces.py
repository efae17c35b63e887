"""wss_nonces: WS-Security PasswordDigest nonces seen, shared by every connector process

A nonce is remembered by the SHA-256 of its decoded bytes (contract section 1, v2), per user,
until its window has passed; a replay to any process sharing the database is refused.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "wss_nonces",
        sa.Column("username", sa.String(length=200), nullable=False),
        sa.Column("nonce_sha256", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("username", "nonce_sha256", name=op.f("pk_wss_nonces")),
    )
    op.create_index("ix_wss_nonces_expires_at", "wss_nonces", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_wss_nonces_expires_at", table_name="wss_nonces")
    op.drop_table("wss_nonces")

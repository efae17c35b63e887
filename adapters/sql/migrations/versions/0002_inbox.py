"""inbox (message ids applied), held_citations (held declarations per permit) and
pending_permit_status (status events that arrived before their permit)

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbox",
        sa.Column("message_id", sa.String(length=200), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_inbox")),
    )
    op.create_table(
        "held_citations",
        sa.Column("declaration_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("permit_number", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint(
            "declaration_id", "version", "permit_number", name=op.f("pk_held_citations")
        ),
    )
    op.create_index("ix_held_citations_permit", "held_citations", ["permit_number"])
    op.create_table(
        "pending_permit_status",
        sa.Column("permit_number", sa.String(length=64), nullable=False),
        sa.Column("issuing_country", sa.String(length=2), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint(
            "permit_number", "issuing_country", name=op.f("pk_pending_permit_status")
        ),
    )


def downgrade() -> None:
    op.drop_table("pending_permit_status")
    op.drop_index("ix_held_citations_permit", table_name="held_citations")
    op.drop_table("held_citations")
    op.drop_table("inbox")

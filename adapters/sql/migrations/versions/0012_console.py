"""The web console: its users, paper permits awaiting a second user, search indexes

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "console_users",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("password_hash", sa.String(256), nullable=False),
        sa.Column("roles", sa.String(128), nullable=False),
        sa.Column("declarant_codes", sa.JSON(), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False, server_default="0"),
        sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("locked_until", sa.DateTime(timezone=True)),
        sa.Column("session_epoch", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_console_users"),
    )
    op.create_table(
        "paper_permits",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("permit_number", sa.String(64), nullable=False),
        sa.Column("issuing_country", sa.String(2), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("entered_by", sa.String(128), nullable=False),
        sa.Column("entered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(128)),
        sa.Column("decided_at", sa.DateTime(timezone=True)),
        sa.Column("note", sa.Text()),
        sa.PrimaryKeyConstraint("id", name="pk_paper_permits"),
        sa.UniqueConstraint("permit_number", "issuing_country", "id", name="uq_paper_permits_key"),
    )
    op.create_index(
        "ix_paper_permits_number", "paper_permits", ["permit_number", "issuing_country"]
    )
    op.create_index("ix_decisions_decided_at", "decisions", ["decided_at"])
    op.create_index("ix_decisions_decision_date", "decisions", ["decision", "declaration_date"])
    op.create_index(
        "ix_declarations_declarant_updated", "declarations", ["declarant_code", "updated_at"]
    )
    op.create_index("ix_declarations_updated", "declarations", ["updated_at"])
    op.create_index("ix_declarations_state_updated", "declarations", ["state", "updated_at"])
    op.create_index("ix_decisions_declaration_date", "decisions", ["declaration_date"])
    op.create_index("ix_audit_log_subject", "audit_log", ["subject"])
    op.create_index("ix_outbox_ordering_key", "outbox", ["ordering_key"])


def downgrade() -> None:
    for name, table in (
        ("ix_outbox_ordering_key", "outbox"),
        ("ix_audit_log_subject", "audit_log"),
        ("ix_decisions_declaration_date", "decisions"),
        ("ix_declarations_state_updated", "declarations"),
    ):
        op.drop_index(name, table_name=table)
    op.drop_index("ix_declarations_updated", table_name="declarations")
    op.drop_index("ix_declarations_declarant_updated", table_name="declarations")
    op.drop_index("ix_decisions_decision_date", table_name="decisions")
    op.drop_index("ix_decisions_decided_at", table_name="decisions")
    op.drop_index("ix_paper_permits_number", table_name="paper_permits")
    op.drop_table("paper_permits")
    op.drop_table("console_users")

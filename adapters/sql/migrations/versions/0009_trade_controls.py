"""trade_suspensions, export_quotas, quota_charges, trade_proposals: contract 5.1 (v2)

Trade suspensions and the home country's export quotas, what each clearance counted against
a quota (given back with its write-offs on amendment or cancellation), and Species+ imports
waiting for a second person's approval.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "trade_suspensions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("taxon", sa.String(length=200), nullable=True),
        sa.Column("flow", sa.String(length=16), nullable=False),
        sa.Column("sources", sa.String(length=32), nullable=False),
        sa.Column("purposes", sa.String(length=32), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("reference", sa.String(length=200), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("origin", sa.String(length=64), nullable=False),
        sa.Column("added_by", sa.String(length=128), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("removed_by", sa.String(length=128), nullable=True),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trade_suspensions")),
    )
    op.create_index("ix_trade_suspensions_country", "trade_suspensions", ["country"])
    op.create_table(
        "export_quotas",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("taxon", sa.String(length=200), nullable=False),
        sa.Column("taxon_key", sa.String(length=200), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("term", sa.String(length=8), nullable=False),
        sa.Column("unit", sa.String(length=8), nullable=True),
        sa.Column("quantity_micro", sa.BigInteger(), nullable=False),
        sa.Column("used_micro", sa.BigInteger(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("origin", sa.String(length=64), nullable=False),
        sa.Column("set_by", sa.String(length=128), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "quantity_micro >= 0", name=op.f("ck_export_quotas_quantity_not_negative")
        ),
        sa.CheckConstraint("used_micro >= 0", name=op.f("ck_export_quotas_used_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_export_quotas")),
        sa.UniqueConstraint("country", "taxon_key", "year", "term", name="uq_export_quotas_key"),
    )
    op.create_table(
        "quota_charges",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("quota_id", sa.Integer(), nullable=False),
        sa.Column("declaration_id", sa.String(length=64), nullable=False),
        sa.Column("declaration_version", sa.Integer(), nullable=False),
        sa.Column("item_number", sa.Integer(), nullable=False),
        sa.Column("quantity_micro", sa.BigInteger(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reversed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["quota_id"],
            ["export_quotas.id"],
            name=op.f("fk_quota_charges_quota_id_export_quotas"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quota_charges")),
        sa.UniqueConstraint(
            "quota_id",
            "declaration_id",
            "declaration_version",
            "item_number",
            name="uq_quota_charges_once",
        ),
    )
    op.create_index("ix_quota_charges_declaration", "quota_charges", ["declaration_id"])
    op.create_table(
        "trade_proposals",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=300), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("entries", sa.JSON(), nullable=False),
        sa.Column("skipped", sa.JSON(), nullable=False),
        sa.Column("proposed_by", sa.String(length=128), nullable=False),
        sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decided_by", sa.String(length=128), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trade_proposals")),
    )


def downgrade() -> None:
    op.drop_table("trade_proposals")
    op.drop_index("ix_quota_charges_declaration", table_name="quota_charges")
    op.drop_table("quota_charges")
    op.drop_table("export_quotas")
    op.drop_index("ix_trade_suspensions_country", table_name="trade_suspensions")
    op.drop_table("trade_suspensions")

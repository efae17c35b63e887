"""The language of each declarant's broker notifications

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "declarant_languages",
        sa.Column("declarant_code", sa.String(64), nullable=False),
        # a BCP 47 tag as the catalogs' folders name it (en, fr, es, pt_BR)
        sa.Column("language", sa.String(35), nullable=False),
        sa.Column("set_by", sa.String(128), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("declarant_code", name="pk_declarant_languages"),
    )


def downgrade() -> None:
    op.drop_table("declarant_languages")

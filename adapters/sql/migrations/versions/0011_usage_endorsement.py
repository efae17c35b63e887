"""usages: the electronic endorsement (contract 3.2 (v2))

Who cleared the declaration (``endorsed_by``), at which office (``port``), on which date
(``exit_date``) and the quantity as declared (``declared_quantity``, ``declared_unit``), kept
with each usage so that a re-published or reversed usage message says the same. Usages written
before this revision have none of them (null in their messages).

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("usages") as batch:
        batch.add_column(sa.Column("endorsed_by", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("port", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("exit_date", sa.Date(), nullable=True))
        batch.add_column(sa.Column("declared_quantity", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("declared_unit", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("usages") as batch:
        for column in ("declared_unit", "declared_quantity", "exit_date", "port", "endorsed_by"):
            batch.drop_column(column)

"""permits.balance_stamp and permit_lines.stamp: reading only the lines changed since

A permit may have 10,000 lines; a process keeps their decoded form and, when the permit's
stamp has moved, reads only the lines stamped since (adapters/sql/permit_reader.py).

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("permits") as batch:
        batch.add_column(
            sa.Column("balance_stamp", sa.BigInteger(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("permit_lines") as batch:
        batch.add_column(sa.Column("stamp", sa.BigInteger(), nullable=False, server_default="0"))
    op.create_index("ix_permit_lines_permit_stamp", "permit_lines", ["permit_id", "stamp"])


def downgrade() -> None:
    op.drop_index("ix_permit_lines_permit_stamp", table_name="permit_lines")
    with op.batch_alter_table("permit_lines") as batch:
        batch.drop_column("stamp")
    with op.batch_alter_table("permits") as batch:
        batch.drop_column("balance_stamp")

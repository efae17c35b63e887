"""permit_lines.exported_micro and origin_permit_number: box 14 and box 12 of a permit line

Contract 3.1 (v2): the quantity the exporting country's officer endorsed as exported (checked
at import: QUANTITY_EXCEEDS_EXPORTED) and, for re-exports, the origin country's permit. Both
optional: lines stored before this revision have neither.

Revision ID: 0010
Revises: 0008 (set to 0009 when merged after the trade controls' revision 0009)
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("permit_lines") as batch:
        batch.add_column(sa.Column("exported_micro", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("origin_permit_number", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("permit_lines") as batch:
        batch.drop_column("origin_permit_number")
        batch.drop_column("exported_micro")

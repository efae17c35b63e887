"""permit_lines.exported_quantity_micro and origin_permit_number (contract 3.1 (v2))

Box 14 (the quantity the exporting country's officer endorsed as exported) is checked at
import (QUANTITY_EXCEEDS_EXPORTED); a re-export certificate's line names the permit of the
country of origin. Both are optional: existing lines have neither.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("permit_lines") as batch:
        batch.add_column(sa.Column("exported_quantity_micro", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("origin_permit_number", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("permit_lines") as batch:
        batch.drop_column("origin_permit_number")
        batch.drop_column("exported_quantity_micro")

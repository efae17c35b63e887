"""permits.signer and permits.unsigned (signed ePermits, docs/signatures.md)

Who signed the ePermit a permit came as (the certificate's subject), and whether it came
unsigned while signatures were checked (risk flag PERMIT_UNSIGNED). Existing permits have
neither: not signed, and not known to be unsigned.

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("permits") as batch:
        batch.add_column(sa.Column("signer", sa.String(length=500), nullable=True))
        batch.add_column(
            sa.Column("unsigned", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("permits") as batch:
        batch.drop_column("unsigned")
        batch.drop_column("signer")

"""permits.content_version: the version of a permit's lines and dates, apart from status

A cancellation or suspension (a status event) may overtake amendments; the amendments must
still apply their lines when they arrive, while the newer status stays.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("permits") as batch:
        batch.add_column(sa.Column("content_version", sa.Integer(), nullable=True))
    op.execute("UPDATE permits SET content_version = version")
    with op.batch_alter_table("permits") as batch:
        batch.alter_column("content_version", existing_type=sa.Integer(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("permits") as batch:
        batch.drop_column("content_version")

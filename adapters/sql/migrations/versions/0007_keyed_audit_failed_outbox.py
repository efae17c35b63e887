"""outbox.failed_at: messages the relay gave up on wait for ``outbox retry``

Revision ID: 0007
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa

revision = "0007"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True))
    # a refusal recorded before 0007 waited a day and came back; it is failed from now on
    op.execute("UPDATE outbox SET failed_at = CURRENT_TIMESTAMP, next_attempt_at = NULL "
               "WHERE sent_at IS NULL AND last_error LIKE 'permanent: %'")


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("failed_at")

"""inbox.body_digest (a message id reused with another body is refused) and
delivery_attempts (the permit consumer counts failed processing itself)

Issue 9 ("Trust the clearance"), items 1 and 7: contract 3.1 (v2) MESSAGE_ID_CONFLICT, and a
crash loop must not dead-letter valid permits through RabbitMQ's delivery count.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inbox") as batch:
        batch.add_column(sa.Column("body_digest", sa.String(length=80), nullable=True))
    op.create_table(
        "delivery_attempts",
        sa.Column("message_id", sa.String(length=200), nullable=False),
        sa.Column("started", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_delivery_attempts")),
    )


def downgrade() -> None:
    op.drop_table("delivery_attempts")
    with op.batch_alter_table("inbox") as batch:
        batch.drop_column("body_digest")

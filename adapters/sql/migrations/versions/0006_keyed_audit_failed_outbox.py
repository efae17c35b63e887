"""keyed audit chains (audit_log.nonce/mac, audit_log_seals, append-only audit_log) and
outbox.failed_at (messages the relay gave up on wait for ``outbox retry``)

The chains themselves are keyed after the schema change, by ``cites-connector migrate``
with the audit key (adapters/sql/audit_adopt.py): the key never passes through Alembic.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

APPEND_ONLY = ("audit_log", "audit_log_seals")


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True))
    # a refusal recorded before 0006 waited a day and came back; it is failed from now on
    op.execute(
        "UPDATE outbox SET failed_at = CURRENT_TIMESTAMP, next_attempt_at = NULL "
        "WHERE sent_at IS NULL AND last_error LIKE 'permanent: %'"
    )

    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("nonce", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("mac", sa.String(length=64), nullable=True))
        batch.create_unique_constraint("uq_audit_log_mac", ["mac"])
    op.create_table(
        "audit_log_seals",
        sa.Column("position", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("row_id", sa.Integer(), nullable=True),
        sa.Column("link", sa.String(length=64), nullable=False),
        sa.Column("sealed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("position", name=op.f("pk_audit_log_seals")),
        sa.UniqueConstraint("row_id", name=op.f("uq_audit_log_seals_row_id")),
    )
    _append_only()


def _append_only() -> None:
    """As migration 0003 does for the administration log: the database refuses changes."""
    if op.get_bind().dialect.name == "sqlite":
        for table in APPEND_ONLY:
            for event in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
                )
        return
    for table in APPEND_ONLY:  # refuse_change() comes with migration 0003
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION refuse_change()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION refuse_change()"
        )


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table in APPEND_ONLY:
        if sqlite:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
    op.drop_table("audit_log_seals")
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_constraint("uq_audit_log_mac", type_="unique")
        batch.drop_column("mac")
        batch.drop_column("nonce")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("failed_at")

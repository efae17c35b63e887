"""HS table administration: versions, drafts, hash-chained admin audit; seeds the bundled tables

The bundled sets of hs_codes/tables.toml (HS2022/1 from hs2022.csv) become published
versions with their own numbers, so that a decision's ``hs_table`` label (``HS2022/1``) names
the same rows whether it was decided before or after this migration.

Revision ID: 0003
Revises: 0002
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

APPEND_ONLY = ("admin_audit", "hs_version_rows")


def upgrade() -> None:
    op.create_table(
        "hs_versions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("edition", sa.String(length=16), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("effective_to", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("published_by", sa.String(length=128), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("proposed_by", sa.String(length=128), nullable=True),
        sa.Column("approved_by", sa.String(length=128), nullable=True),
        sa.Column("draft_number", sa.Integer(), nullable=True),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("rows_digest", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hs_versions")),
        sa.UniqueConstraint("edition", "number", name="uq_hs_versions_edition_number"),
    )
    op.create_table(
        "hs_version_rows",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("hs_prefix", sa.String(length=10), nullable=False),
        sa.Column("taxon", sa.String(length=200), nullable=False),
        sa.Column("terms", sa.String(length=200), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["hs_versions.id"],
            name=op.f("fk_hs_version_rows_version_id_hs_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hs_version_rows")),
        sa.UniqueConstraint("version_id", "hs_prefix", "taxon", name="uq_hs_version_rows_row"),
    )
    op.create_index("ix_hs_version_rows_version", "hs_version_rows", ["version_id"])
    op.create_table(
        "hs_drafts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("edition", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("based_on", sa.String(length=32), nullable=True),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("editors", sa.JSON(), nullable=False),
        sa.Column("proposed_by", sa.String(length=128), nullable=True),
        sa.Column("approved_by", sa.String(length=128), nullable=True),
        sa.Column("rejected_by", sa.String(length=128), nullable=True),
        sa.Column("rejection", sa.Text(), nullable=True),
        sa.Column("published_as", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hs_drafts")),
    )
    op.create_table(
        "hs_draft_rows",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("draft_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("hs_prefix", sa.String(length=10), nullable=False),
        sa.Column("taxon", sa.String(length=200), nullable=False),
        sa.Column("terms", sa.String(length=200), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("review", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["draft_id"],
            ["hs_drafts.id"],
            ondelete="CASCADE",
            name=op.f("fk_hs_draft_rows_draft_id_hs_drafts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hs_draft_rows")),
        sa.UniqueConstraint("draft_id", "hs_prefix", "taxon", name="uq_hs_draft_rows_row"),
    )
    op.create_index("ix_hs_draft_rows_draft", "hs_draft_rows", ["draft_id"])
    op.create_table(
        "admin_audit",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.String(length=40), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_admin_audit")),
        sa.UniqueConstraint("prev_hash", name="uq_admin_audit_prev_hash"),
        sa.UniqueConstraint("hash", name="uq_admin_audit_hash"),
    )
    _append_only_triggers()
    _seed_bundled_tables()


def _append_only_triggers() -> None:
    """The database itself refuses to change published rows or audit records."""
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for table in APPEND_ONLY:
            for event in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
                )
        return
    op.execute(
        "CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$"
    )
    for table in APPEND_ONLY:
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION refuse_change()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION refuse_change()"
        )


def _seed_bundled_tables() -> None:
    from cites_connector.adapters.sql import audit_chain
    from cites_connector.adapters.sql.hs_schema import hs_version_rows, hs_versions
    from cites_connector.domain.hs_admin_csv import rows_digest
    from cites_connector.hs_codes.bundled import load_bundled_tables

    bind = op.get_bind()
    now = datetime.now(UTC)
    for row_set in load_bundled_tables():
        version_id = bind.execute(
            sa.insert(hs_versions)
            .values(
                edition=row_set.edition,
                number=row_set.version,
                effective_from=row_set.effective_from,
                effective_to=row_set.effective_to,
                status="PUBLISHED",
                published_by="migrate",
                published_at=now,
                source="bundled with the connector (hs_codes/tables.toml)",
                rows_digest=rows_digest(row_set.rows),
            )
            .returning(hs_versions.c.id)
        ).scalar_one()
        bind.execute(
            sa.insert(hs_version_rows),
            [
                {
                    "version_id": version_id,
                    "hs_prefix": r.hs_prefix,
                    "taxon": r.taxon,
                    "terms": " ".join(sorted(r.terms)),
                    "note": r.note,
                }
                for r in row_set.rows
            ],
        )
        # unkeyed, as this revision always wrote it: the chain is keyed after 0006
        audit_chain.append_legacy(
            bind,
            "migrate",
            "hs.version.seeded",
            row_set.label,
            "bundled table loaded by migration 0003",
            {
                "version": row_set.label,
                "rows": len(row_set.rows),
                "effective_from": row_set.effective_from.isoformat(),
                "rows_digest": rows_digest(row_set.rows),
            },
            now,
        )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("DROP FUNCTION refuse_change() CASCADE")
    op.drop_table("admin_audit")
    op.drop_index("ix_hs_draft_rows_draft", table_name="hs_draft_rows")
    op.drop_table("hs_draft_rows")
    op.drop_table("hs_drafts")
    op.drop_index("ix_hs_version_rows_version", table_name="hs_version_rows")
    op.drop_table("hs_version_rows")
    op.drop_table("hs_versions")

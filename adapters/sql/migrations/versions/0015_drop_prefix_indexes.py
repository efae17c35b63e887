"""Drop two indexes that a wider index with the same leading column already serves

``ix_declarations_state`` (state) is the prefix of ``ix_declarations_state_updated``
(state, updated_at, 0012) and ``ix_usages_declaration`` (declaration_id) the prefix of the
unique ``uq_usages_once_per_item_line`` (declaration_id, declaration_version, ...): every query
they served is served by the wider one, and each clearance wrote both (issue 14: pages written
per clearance).

Revision ID: 0015
Revises: 0014
"""

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_declarations_state", table_name="declarations")
    op.drop_index("ix_usages_declaration", table_name="usages")


def downgrade() -> None:
    op.create_index("ix_usages_declaration", "usages", ["declaration_id"])
    op.create_index("ix_declarations_state", "declarations", ["state"])

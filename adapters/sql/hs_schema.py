"""Tables of the HS table administration (migration 0003), on the ledger's ``metadata``.

Published versions and their rows are written once; only a version's last day
(``effective_to``) and its status (WITHDRAWN) change, when a later version is published.
Triggers created by the migration refuse any UPDATE or DELETE of version rows and of the
administration audit log, so a change needs a deliberate act by the database owner, which
``cites-connector audit verify`` then detects (row digests, keyed chain).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from cites_connector.adapters.sql.tables import metadata

hs_versions = Table(
    "hs_versions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("edition", String(16), nullable=False),
    Column("number", Integer, nullable=False),
    Column("effective_from", Date, nullable=False),
    Column("effective_to", Date),
    Column("status", String(16), nullable=False),
    Column("published_by", String(128), nullable=False),
    Column("published_at", DateTime(timezone=True), nullable=False),
    Column("proposed_by", String(128)),
    Column("approved_by", String(128)),
    Column("draft_number", Integer),
    Column("source", Text),
    #: SHA-256 of the rows in canonical CSV form (hs_admin_csv.rows_digest)
    Column("rows_digest", String(64), nullable=False),
    UniqueConstraint("edition", "number", name="uq_hs_versions_edition_number"),
)

hs_version_rows = Table(
    "hs_version_rows",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("version_id", Integer, ForeignKey("hs_versions.id"), nullable=False),
    Column("hs_prefix", String(10), nullable=False),
    Column("taxon", String(200), nullable=False),
    Column("terms", String(200), nullable=False),
    Column("note", Text),
    UniqueConstraint("version_id", "hs_prefix", "taxon", name="uq_hs_version_rows_row"),
)
Index("ix_hs_version_rows_version", hs_version_rows.c.version_id)

hs_drafts = Table(
    "hs_drafts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("edition", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("based_on", String(32)),
    Column("created_by", String(128), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("editors", JSON, nullable=False),
    Column("proposed_by", String(128)),
    Column("approved_by", String(128)),
    Column("rejected_by", String(128)),
    Column("rejection", Text),
    Column("published_as", String(32)),
)

hs_draft_rows = Table(
    "hs_draft_rows",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("draft_id", Integer, ForeignKey("hs_drafts.id", ondelete="CASCADE"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("hs_prefix", String(10), nullable=False),
    Column("taxon", String(200), nullable=False),
    Column("terms", String(200), nullable=False),
    Column("note", Text),
    Column("review", Text),
    UniqueConstraint("draft_id", "hs_prefix", "taxon", name="uq_hs_draft_rows_row"),
)
Index("ix_hs_draft_rows_draft", hs_draft_rows.c.draft_id)

#: append-only log of administrative actions, chained by HMAC (adapters/sql/audit_chain.py)
admin_audit = Table(
    "admin_audit",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    #: ISO 8601 UTC text, exactly as hashed (a database type could round-trip differently)
    Column("at", String(40), nullable=False),
    Column("actor", String(128), nullable=False),
    Column("action", String(64), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("reason", Text),
    #: canonical JSON text, exactly as hashed
    Column("details", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    # a second row chained to the same predecessor (a fork) is impossible
    UniqueConstraint("prev_hash", name="uq_admin_audit_prev_hash"),
    UniqueConstraint("hash", name="uq_admin_audit_hash"),
)

#: tables whose rows the database refuses to UPDATE or DELETE (triggers, migrations 0003
#: and 0006)
APPEND_ONLY = ("admin_audit", "hs_version_rows", "audit_log", "audit_log_seals")

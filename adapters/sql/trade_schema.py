"""Tables of trade suspensions and export quotas (migration 0009), on the ledger's ``metadata``.

Nothing here is deleted: a removed suspension keeps its row (``removed_at``, ``removed_by``),
a quota set again keeps its number and what it used, and every change is in the
administration audit chain. Quantities are integers of millionths of the quota's unit, like the
ledger's, so the conditional UPDATE that counts a charge compares exactly on SQLite too.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
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
from cites_connector.domain import limits

trade_suspensions = Table(
    "trade_suspensions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("country", String(2), nullable=False),
    Column("taxon", String(limits.TAXON)),
    Column("flow", String(16), nullable=False),
    #: CITES codes, space-separated; empty = any
    Column("sources", String(32), nullable=False),
    Column("purposes", String(32), nullable=False),
    Column("starts_on", Date, nullable=False),
    Column("ends_on", Date),
    Column("reference", String(limits.NOTIFICATION), nullable=False),
    Column("notes", Text),
    #: ``speciesplus:<id>`` or ``manual``
    Column("origin", String(64), nullable=False),
    Column("added_by", String(128), nullable=False),
    Column("added_at", DateTime(timezone=True), nullable=False),
    Column("removed_by", String(128)),
    Column("removed_at", DateTime(timezone=True)),
)
Index("ix_trade_suspensions_country", trade_suspensions.c.country)

export_quotas = Table(
    "export_quotas",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("country", String(2), nullable=False),
    Column("taxon", String(limits.TAXON), nullable=False),
    #: the taxon's name case-folded with single spaces: one quota per name, however written
    Column("taxon_key", String(limits.TAXON), nullable=False),
    Column("year", Integer, nullable=False),
    #: "" = any term (a unique key treats NULLs as distinct)
    Column("term", String(limits.TERM_CODE), nullable=False),
    Column("unit", String(8)),
    Column("quantity_micro", BigInteger, nullable=False),
    Column("used_micro", BigInteger, nullable=False),
    Column("notes", Text),
    Column("origin", String(64), nullable=False),
    Column("set_by", String(128), nullable=False),
    Column("set_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("country", "taxon_key", "year", "term", name="uq_export_quotas_key"),
    CheckConstraint("quantity_micro >= 0", name="quantity_not_negative"),
    CheckConstraint("used_micro >= 0", name="used_not_negative"),
)

quota_charges = Table(
    "quota_charges",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("quota_id", Integer, ForeignKey("export_quotas.id"), nullable=False),
    Column("declaration_id", String(limits.DECLARATION_ID), nullable=False),
    Column("declaration_version", Integer, nullable=False),
    Column("item_number", Integer, nullable=False),
    Column("quantity_micro", BigInteger, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("reversed_at", DateTime(timezone=True)),
    UniqueConstraint(
        "quota_id",
        "declaration_id",
        "declaration_version",
        "item_number",
        name="uq_quota_charges_once",
    ),
)
Index("ix_quota_charges_declaration", quota_charges.c.declaration_id)

#: Species+ imports waiting for a second person's approval (four eyes)
trade_proposals = Table(
    "trade_proposals",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),
    Column("source", String(300), nullable=False),
    Column("reason", Text, nullable=False),
    Column("entries", JSON, nullable=False),
    Column("skipped", JSON, nullable=False),
    Column("proposed_by", String(128), nullable=False),
    Column("proposed_at", DateTime(timezone=True), nullable=False),
    Column("status", String(16), nullable=False),
    Column("decided_by", String(128)),
    Column("decided_at", DateTime(timezone=True)),
)

"""The ledger's tables (SQLAlchemy Core). Alembic migrations create them; keep both in step.

Quantities are stored as integers of millionths of the line's unit (``units.LEDGER_PLACES``):
exact on SQLite, which has no decimal type, and comparable in a conditional UPDATE.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON, BigInteger, Boolean, CheckConstraint, Column, Date, DateTime, ForeignKey, Index,
    Integer, MetaData, String, Table, Text, UniqueConstraint,
)

metadata = MetaData(naming_convention={
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})

permits = Table(
    "permits", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("permit_number", String(64), nullable=False),
    Column("issuing_country", String(2), nullable=False),
    Column("version", Integer, nullable=False),
    Column("content_version", Integer, nullable=False),
    Column("type", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("consignment_policy", String(16), nullable=False),
    Column("issued_on", Date),
    Column("valid_from", Date, nullable=False),
    Column("valid_until", Date, nullable=False),
    Column("exporter", JSON, nullable=False),
    Column("importer", JSON, nullable=False),
    Column("purpose", String(8)),
    Column("security_stamp", String(64)),
    Column("replaces", String(64)),
    Column("used_by", String(64)),
    Column("status_reason", Text),
    #: raised once by every transaction that changes a line's remaining quantity, and written
    #: on the lines it changed: a process that kept the lines reads only those changed since
    Column("balance_stamp", BigInteger, nullable=False, server_default="0"),
    UniqueConstraint("permit_number", "issuing_country", name="uq_permits_number_country"),
)
Index("ix_permits_number", permits.c.permit_number)

permit_lines = Table(
    "permit_lines", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("permit_id", Integer, ForeignKey("permits.id", ondelete="CASCADE"), nullable=False),
    Column("line", String(8), nullable=False),
    Column("taxon", String(200), nullable=False),
    Column("appendix", String(8)),
    Column("source", String(4)),
    Column("term", String(8)),
    Column("unit", String(8)),
    Column("quantity_micro", BigInteger, nullable=False),
    Column("remaining_micro", BigInteger, nullable=False),
    Column("origin_country", String(2)),
    Column("description", Text),
    #: the permit's balance_stamp when this line's remaining quantity last changed
    Column("stamp", BigInteger, nullable=False, server_default="0"),
    UniqueConstraint("permit_id", "line", name="uq_permit_lines_permit_line"),
    CheckConstraint("remaining_micro >= 0", name="remaining_not_negative"),
    CheckConstraint("remaining_micro <= quantity_micro", name="remaining_within_quantity"),
)

Index("ix_permit_lines_permit_stamp", permit_lines.c.permit_id, permit_lines.c.stamp)

usages = Table(
    "usages", metadata,
    Column("usage_id", String(64), primary_key=True),
    Column("permit_number", String(64), nullable=False),
    Column("issuing_country", String(2), nullable=False),
    Column("line", String(8), nullable=False),
    Column("declaration_id", String(64), nullable=False),
    Column("declaration_version", Integer, nullable=False),
    Column("item_number", Integer, nullable=False),
    Column("quantity_micro", BigInteger, nullable=False),
    Column("unit", String(8)),
    Column("remaining_after_micro", BigInteger, nullable=False),
    Column("permit_used_up", Boolean, nullable=False),
    Column("office_code", String(32)),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("reversed_at", DateTime(timezone=True)),
    # nothing is written off twice for the same item of the same version from the same line
    UniqueConstraint("declaration_id", "declaration_version", "item_number", "permit_number",
                     "issuing_country", "line", name="uq_usages_once_per_item_line"),
    CheckConstraint("quantity_micro >= 0", name="quantity_not_negative"),
)
Index("ix_usages_permit", usages.c.permit_number, usages.c.issuing_country)
Index("ix_usages_declaration", usages.c.declaration_id)

declarations = Table(
    "declarations", metadata,
    Column("declaration_id", String(64), primary_key=True),
    Column("latest_version", Integer, nullable=False),
    Column("state", String(16), nullable=False),
    Column("declarant_code", String(64)),
    Column("office_code", String(32)),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
Index("ix_declarations_state", declarations.c.state)

decisions = Table(
    "decisions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("declaration_id", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("decision", String(16), nullable=False),
    Column("hs_table", String(64)),
    Column("declaration_date", Date, nullable=False),
    Column("payload", JSON, nullable=False),
    Column("declaration", JSON, nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("declaration_id", "version", name="uq_decisions_declaration_version"),
)

outbox = Table(
    "outbox", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("message_id", String(128), nullable=False, unique=True),
    Column("channel", String(32), nullable=False),
    Column("destination", String(128), nullable=False),
    Column("routing_key", String(255), nullable=False),
    Column("ordering_key", String(128)),
    Column("body", JSON, nullable=False),
    Column("headers", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True)),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", DateTime(timezone=True)),
    Column("last_error", Text),
)
Index("ix_outbox_pending", outbox.c.sent_at, outbox.c.id)

audit_log = Table(
    "audit_log", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(128), nullable=False),
    Column("action", String(64), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("details", JSON, nullable=False),
)

#: messages already applied (AMQP message_id, contract 3): a redelivery changes nothing
inbox = Table(
    "inbox", metadata,
    Column("message_id", String(200), primary_key=True),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("source", String(100), nullable=False),
    Column("outcome", Text, nullable=False),
)

#: permits cited by held declarations, so a permit event finds the declarations to decide again
held_citations = Table(
    "held_citations", metadata,
    Column("declaration_id", String(64), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("permit_number", String(64), primary_key=True),
)
Index("ix_held_citations_permit", held_citations.c.permit_number)

#: a cancellation or suspension that arrived before the permit itself (events come out of
#: order): applied when the permit arrives with a lower version
pending_permit_status = Table(
    "pending_permit_status", metadata,
    Column("permit_number", String(64), primary_key=True),
    Column("issuing_country", String(2), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("reason", Text),
)

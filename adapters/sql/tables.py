"""The ledger's tables (SQLAlchemy Core). Alembic migrations create them; keep both in step.

Quantities are stored as integers of millionths of the line's unit (``units.LEDGER_PLACES``):
exact on SQLite, which has no decimal type, and comparable in a conditional UPDATE.
Sizes of what a permit event brings come from ``cites_connector.domain.limits``, which the permit
validation reads too: a value the validator accepts always fits its column (issue 9).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)

from cites_connector.domain import limits

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

permits = Table(
    "permits",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("permit_number", String(limits.PERMIT_NUMBER), nullable=False),
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
    Column("security_stamp", String(limits.STAMP)),
    Column("replaces", String(limits.PERMIT_NUMBER)),
    Column("used_by", String(limits.DECLARATION_ID)),
    Column("status_reason", Text),
    #: who signed the ePermit (the certificate's subject); unsigned: came without a signature
    #: while signatures were checked (docs/signatures.md)
    Column("signer", String(500)),
    Column("unsigned", Boolean, nullable=False, server_default=false()),
    #: raised once by every transaction that changes a line's remaining quantity, and written
    #: on the lines it changed: a process that kept the lines reads only those changed since
    Column("balance_stamp", BigInteger, nullable=False, server_default="0"),
    UniqueConstraint("permit_number", "issuing_country", name="uq_permits_number_country"),
)
Index("ix_permits_number", permits.c.permit_number)

permit_lines = Table(
    "permit_lines",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("permit_id", Integer, ForeignKey("permits.id", ondelete="CASCADE"), nullable=False),
    Column("line", String(8), nullable=False),
    Column("taxon", String(limits.TAXON), nullable=False),
    Column("appendix", String(8)),
    Column("source", String(4)),
    Column("term", String(8)),
    Column("unit", String(8)),
    Column("quantity_micro", BigInteger, nullable=False),
    Column("remaining_micro", BigInteger, nullable=False),
    Column("origin_country", String(2)),
    Column("description", Text),
    #: (v2) box 14: the quantity the exporting country endorsed as exported, in millionths
    Column("exported_quantity_micro", BigInteger),
    #: (v2) re-exports: the permit of the country of origin
    Column("origin_permit_number", String(limits.PERMIT_NUMBER)),
    #: the permit's balance_stamp when this line's remaining quantity last changed
    Column("stamp", BigInteger, nullable=False, server_default="0"),
    UniqueConstraint("permit_id", "line", name="uq_permit_lines_permit_line"),
    CheckConstraint("remaining_micro >= 0", name="remaining_not_negative"),
    CheckConstraint("remaining_micro <= quantity_micro", name="remaining_within_quantity"),
)

Index("ix_permit_lines_permit_stamp", permit_lines.c.permit_id, permit_lines.c.stamp)

usages = Table(
    "usages",
    metadata,
    Column("usage_id", String(64), primary_key=True),
    Column("permit_number", String(limits.PERMIT_NUMBER), nullable=False),
    Column("issuing_country", String(2), nullable=False),
    Column("line", String(8), nullable=False),
    Column("declaration_id", String(limits.DECLARATION_ID), nullable=False),
    Column("declaration_version", Integer, nullable=False),
    Column("item_number", Integer, nullable=False),
    Column("quantity_micro", BigInteger, nullable=False),
    Column("unit", String(8)),
    Column("remaining_after_micro", BigInteger, nullable=False),
    Column("permit_used_up", Boolean, nullable=False),
    Column("office_code", String(limits.OFFICE_CODE)),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("reversed_at", DateTime(timezone=True)),
    # the electronic endorsement (contract 3.2 (v2)); the declared quantity is kept as written
    # (exact decimal text: before conversion it may exceed what BIGINT millionths hold)
    Column("endorsed_by", String(limits.ENDORSER)),
    Column("port", String(limits.OFFICE_NAME)),
    Column("exit_date", Date),
    Column("declared_quantity", String(limits.DECLARED_QUANTITY)),
    Column("declared_unit", String(limits.UNIT_CODE)),
    # nothing is written off twice for the same item of the same version from the same line
    UniqueConstraint(
        "declaration_id",
        "declaration_version",
        "item_number",
        "permit_number",
        "issuing_country",
        "line",
        name="uq_usages_once_per_item_line",
    ),
    CheckConstraint("quantity_micro >= 0", name="quantity_not_negative"),
)
Index("ix_usages_permit", usages.c.permit_number, usages.c.issuing_country)
#: lookups by declaration use the unique constraint above, which starts with declaration_id

declarations = Table(
    "declarations",
    metadata,
    Column("declaration_id", String(limits.DECLARATION_ID), primary_key=True),
    Column("latest_version", Integer, nullable=False),
    Column("state", String(16), nullable=False),
    Column("declarant_code", String(limits.DECLARANT_CODE)),
    Column("office_code", String(limits.OFFICE_CODE)),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
#: lookups by state use ix_declarations_state_updated (console_tables.py)

decisions = Table(
    "decisions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("declaration_id", String(limits.DECLARATION_ID), nullable=False),
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
    "outbox",
    metadata,
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
    #: set when the relay gave up (a refusal, or too many attempts): never claimed again until
    #: ``outbox retry`` clears it (migration 0006)
    Column("failed_at", DateTime(timezone=True)),
)
Index("ix_outbox_pending", outbox.c.sent_at, outbox.c.id)

#: the ledger's audit rows: each keyed at insert (``nonce``, ``mac``), linked into one chain
#: by the sealing step (``audit_log_seals``); append-only (triggers, migration 0006).
#: Rows written before 0006 have no MAC (adapters/sql/audit_ledger.py)
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(128), nullable=False),
    Column("action", String(64), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("details", JSON, nullable=False),
    Column("nonce", String(32)),
    #: HMAC-SHA-256 of the row's content and nonce; unique: a copied row is refused
    Column("mac", String(64)),
    UniqueConstraint("mac", name="uq_audit_log_mac"),
)

#: the ledger audit chain: position 0 is the key's start, each later position links one
#: audit_log row to the position before it; append-only (triggers, migration 0006)
audit_log_seals = Table(
    "audit_log_seals",
    metadata,
    Column("position", Integer, primary_key=True, autoincrement=False),
    Column("row_id", Integer, unique=True),
    Column("link", String(64), nullable=False),
    Column("sealed_at", DateTime(timezone=True), nullable=False),
)

#: messages already applied (AMQP message_id, contract 3): a redelivery changes nothing; a
#: message id seen again with another body is refused (MESSAGE_ID_CONFLICT, contract 3.1 v2):
#: ``body_digest`` is ``sha256:`` of routing key, version header and body (NULL before 0007)
inbox = Table(
    "inbox",
    metadata,
    Column("message_id", String(limits.MESSAGE_ID), primary_key=True),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("source", String(limits.INBOX_SOURCE), nullable=False),
    Column("outcome", Text, nullable=False),
    Column("body_digest", String(80)),
)

#: how often the permit consumer began, and failed, to process a message that is not applied
#: yet (issue 9, item 7). Written before processing a redelivered message, so that a message
#: which keeps failing is dead-lettered by the connector's own count, not by RabbitMQ's, which
#: also counts the prefetched messages of every connection that closed. Deleted once the
#: message is acknowledged or dead-lettered.
delivery_attempts = Table(
    "delivery_attempts",
    metadata,
    Column("message_id", String(limits.MESSAGE_ID), primary_key=True),
    Column("started", Integer, nullable=False),
    Column("failed", Integer, nullable=False),
    Column("first_at", DateTime(timezone=True), nullable=False),
    Column("last_at", DateTime(timezone=True), nullable=False),
    Column("last_error", Text),
)

#: permits cited by held declarations, so a permit event finds the declarations to decide again
held_citations = Table(
    "held_citations",
    metadata,
    Column("declaration_id", String(limits.DECLARATION_ID), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("permit_number", String(limits.PERMIT_NUMBER), primary_key=True),
)
Index("ix_held_citations_permit", held_citations.c.permit_number)

#: a cancellation or suspension that arrived before the permit itself (events come out of
#: order): applied when the permit arrives with a lower version
pending_permit_status = Table(
    "pending_permit_status",
    metadata,
    Column("permit_number", String(limits.PERMIT_NUMBER), primary_key=True),
    Column("issuing_country", String(2), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("reason", Text),
)

#: WS-Security PasswordDigest nonces (contract section 1, v2): the SHA-256 of the decoded
#: bytes per user, kept until the nonce window has passed, so that every process sharing the
#: database refuses a replay; rows past ``expires_at`` are purged
wss_nonces = Table(
    "wss_nonces",
    metadata,
    Column("username", String(200), primary_key=True),
    Column("nonce_sha256", String(64), primary_key=True),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)
Index("ix_wss_nonces_expires_at", wss_nonces.c.expires_at)

#: the language of each declarant's broker notifications (migration 0014,
#: docs/notification-languages.md); a declarant without a row gets the default language
declarant_languages = Table(
    "declarant_languages",
    metadata,
    Column("declarant_code", String(limits.DECLARANT_CODE), primary_key=True),
    Column("language", String(35), nullable=False),
    Column("set_by", String(128), nullable=False),
    Column("set_at", DateTime(timezone=True), nullable=False),
)

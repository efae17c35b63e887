"""Tables of the web console (migration 0009), on the ledger's ``metadata``.

``console_users``: people who log in to the console (issue 12), with an argon2 hash, roles,
the declarant codes a broker account is bound to, and the failed-login count behind the
lockout. ``session_epoch`` is raised when a password changes or the account is disabled: a
session cookie signed before carries the old epoch and is refused from then on.

``paper_permits``: permits an officer typed in from paper during an outage of the permit
system (contingency). The entry waits until a second user confirms it; then it is stored
through the same permit service as an electronic permit and stays marked "entered by hand".

The indexes on ``decisions`` and ``declarations`` serve the console's searches (by decision
and date, by declarant code, the newest first) on a ledger of 100,000 declarations and more.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from cites_connector.adapters.sql.tables import audit_log, decisions, declarations, metadata, outbox
from cites_connector.domain import limits

console_users = Table(
    "console_users",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("password_hash", String(256), nullable=False),
    #: role names separated by spaces (admin reviewer officer broker viewer)
    Column("roles", String(128), nullable=False),
    #: the declarant codes a broker account sees (a JSON list)
    Column("declarant_codes", JSON, nullable=False),
    Column("disabled", Boolean, nullable=False, server_default="0"),
    Column("failed_logins", Integer, nullable=False, server_default="0"),
    Column("locked_until", DateTime(timezone=True)),
    Column("session_epoch", Integer, nullable=False, server_default="0"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(128), nullable=False),
)

paper_permits = Table(
    "paper_permits",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("permit_number", String(limits.PERMIT_NUMBER), nullable=False),
    Column("issuing_country", String(2), nullable=False),
    #: the permit as a contract 3.1 event body: what the permit service is given on confirmation
    Column("body", JSON, nullable=False),
    #: ENTERED (waiting for a second user), CONFIRMED (stored), DISCARDED
    Column("state", String(16), nullable=False),
    Column("entered_by", String(128), nullable=False),
    Column("entered_at", DateTime(timezone=True), nullable=False),
    Column("decided_by", String(128)),
    Column("decided_at", DateTime(timezone=True)),
    Column("note", Text),
    UniqueConstraint("permit_number", "issuing_country", "id", name="uq_paper_permits_key"),
)
Index("ix_paper_permits_number", paper_permits.c.permit_number, paper_permits.c.issuing_country)

Index("ix_decisions_decided_at", decisions.c.decided_at)
Index("ix_decisions_decision_date", decisions.c.decision, decisions.c.declaration_date)
Index("ix_declarations_declarant_updated", declarations.c.declarant_code, declarations.c.updated_at)
Index("ix_declarations_updated", declarations.c.updated_at)
Index("ix_declarations_state_updated", declarations.c.state, declarations.c.updated_at)
Index("ix_decisions_declaration_date", decisions.c.declaration_date)
#: a declaration's or a permit's timeline: its audit records and its messages
Index("ix_audit_log_subject", audit_log.c.subject)
Index("ix_outbox_ordering_key", outbox.c.ordering_key)

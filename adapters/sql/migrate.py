"""Running the Alembic migrations programmatically (``cites-connector migrate``).

After the schema, the audit chains are keyed (contract 9, v2) when the engine carries an
audit key source (audit_key.py; the application's engine always does): the key file is made
if there is none yet (mode 0600), and the chains of the database are keyed with it, in the
same transaction as the migrations (audit_adopt.py). An engine without one (a bare test
engine) gets the schema only.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, inspect
from sqlalchemy.exc import DBAPIError

from cites_connector.adapters.sql.audit_adopt import ensure_keyed, is_keyed
from cites_connector.adapters.sql.audit_chain import recorded_key_id
from cites_connector.adapters.sql.audit_key import checked_key, key_source
from cites_connector.adapters.sql.db_errors import translate
from cites_connector.domain.errors import Unavailable

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(engine: Engine, revision: str = "head") -> Path | None:
    """Migrate, then key the audit chains; returns the key file when it was made now (the
    caller tells the administrator to keep a copy of it elsewhere).

    A key is made only for a database whose chains are not keyed yet: a database keyed with
    a key this process does not have gets an error naming the key, not a second key."""
    try:
        return _upgrade(engine, revision)
    except DBAPIError as exc:  # the database out of reach: one line, exit 3 (db_errors.py)
        raise translate(exc) from exc


def _upgrade(engine: Engine, revision: str) -> Path | None:
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    source = key_source(engine)
    made = False
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
        if source is not None and inspect(connection).has_table("audit_log_seals"):
            if not is_keyed(connection):
                made = source.ensure()
            key = checked_key(connection, recorded_key_id)
            assert key is not None, "the engine carries a key source (checked above)"
            ensure_keyed(connection, key, datetime.now(UTC))
    return getattr(source, "path", None) if made else None


def current(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def schema_problem(engine: Engine) -> str | None:
    """Why the ledger cannot be used yet (never migrated, or migrated by an older version),
    or None when its schema is the one this version writes. ``Unavailable`` when the
    database cannot be reached (transactions.py translates it)."""
    from alembic.runtime.migration import MigrationContext

    from cites_connector.adapters.sql.transactions import reading

    with reading(engine) as connection:
        revision = MigrationContext.configure(connection).get_current_revision()
    wanted = head()
    if revision is None:
        return "the ledger database has no schema yet: run `cites-connector migrate`"
    if revision != wanted:
        return (
            f"the ledger database is at revision {revision}, this version needs {wanted}: "
            "run `cites-connector migrate`"
        )
    return None


def refuse_unmigrated(engine: Engine) -> None:
    """A ledger that answers but was never migrated (or by an older version) stops ``serve``
    at once (exit 3, "run `cites-connector migrate`"); one out of reach is waited out like
    any outage, with /healthz saying so."""
    try:
        problem = schema_problem(engine)
    except Unavailable:
        return
    if problem is not None:
        raise Unavailable(problem)

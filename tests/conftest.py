"""Shared fixtures: ledgers on every backend the project supports.

``ledger_backend`` runs a test on the in-memory fake, on SQLite (a file, WAL) and on
PostgreSQL when CONNECTOR_TEST_POSTGRES_URL names a server (scripts/test.sh starts one; CI
always does, so there the PostgreSQL cases run, never skip).
"""

from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from cites_connector.adapters.sql.audit_key import StaticAuditKey, with_audit_key
from cites_connector.adapters.sql.engine import make_engine
from cites_connector.adapters.sql.ledger import SqlAlchemyLedger
from cites_connector.adapters.sql.migrate import upgrade
from tests.memory_ledger import MemoryLedger

POSTGRES_URL = os.environ.get("CONNECTOR_TEST_POSTGRES_URL")
#: the audit key of the tests' SQL ledgers (a fixed test value, never a deployment's key)
TEST_AUDIT_KEY = StaticAuditKey(bytes.fromhex("a5" * 32))


@pytest.fixture(scope="session")
def postgres_template():
    """A migrated template database; each test copies it (CREATE DATABASE ... TEMPLATE).

    Its audit chains are not keyed: a test keys its copy with the key it uses (the SQL
    ledger fixtures with ``TEST_AUDIT_KEY``, a CLI test with the key its ``migrate`` makes)."""
    if not POSTGRES_URL:
        if os.environ.get("CI"):
            pytest.fail("CI must provide CONNECTOR_TEST_POSTGRES_URL (scripts/test.sh starts it)")
        pytest.skip("no PostgreSQL server: set CONNECTOR_TEST_POSTGRES_URL or run scripts/test.sh")
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    name = f"cites_template_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(POSTGRES_URL).set(database=name)
    engine = make_engine(url.render_as_string(hide_password=False))
    upgrade(engine)
    engine.dispose()
    yield admin, name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def postgres_url(postgres_template):
    admin, template = postgres_template
    name = f"cites_test_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'ledger.sqlite3'}"


def _sql_ledger(url: str):
    """Migrated and keyed with ``TEST_AUDIT_KEY``, as the application's engine would be."""
    engine = with_audit_key(make_engine(url), TEST_AUDIT_KEY)
    upgrade(engine)
    return SqlAlchemyLedger(engine)


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def ledger_backend(request):
    """The same test on every ledger: the fake, SQLite and PostgreSQL."""
    if request.param == "memory":
        yield MemoryLedger()
        return
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_url")
    ledger = _sql_ledger(url)
    yield ledger
    ledger.engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def sql_ledger(request):
    """A real database ledger: SQLite and PostgreSQL."""
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_url")
    ledger = _sql_ledger(url)
    yield ledger
    ledger.engine.dispose()

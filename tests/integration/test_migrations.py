"""The migrations chain (0001 … 0015) on SQLite and PostgreSQL: from an empty database to
head gives exactly the tables the code declares, and every step down and back up works.

Branches that each added a migration are merged by renumbering (0009 trade controls, 0010
box 14, 0011 usage endorsement, 0012 console, 0013 permit signer, 0014 declarant languages);
a renumbering that left a gap, two heads or a table the code uses but no migration makes would
fail here rather than at a deployment's ``cites-connector migrate``.
"""

from __future__ import annotations

import uuid

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.engine import make_url

# the modules that declare tables on the shared metadata (imported for that effect)
from cites_connector.adapters.sql import console_tables, trade_schema  # noqa: F401
from cites_connector.adapters.sql.engine import make_engine
from cites_connector.adapters.sql.migrate import alembic_config, current, upgrade
from cites_connector.adapters.sql.tables import metadata
from tests.conftest import POSTGRES_URL


@pytest.fixture
def empty_postgres_url():
    """A database with nothing in it (not a copy of the migrated template)."""
    if not POSTGRES_URL:
        pytest.skip("no PostgreSQL server: set CONNECTOR_TEST_POSTGRES_URL or run scripts/test.sh")
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    name = f"cites_empty_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def empty_engine(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    else:
        url = request.getfixturevalue("empty_postgres_url")
    engine = make_engine(url)
    yield engine
    engine.dispose()


def revisions() -> list[str]:
    """The chain from the first revision to head, in order."""
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def downgrade(engine: Engine, revision: str) -> None:
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def drift(engine: Engine) -> list[object]:
    with engine.connect() as connection:
        return list(compare_metadata(MigrationContext.configure(connection), metadata))


def test_the_chain_is_one_line_numbered_in_order():
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1
    chain = revisions()
    assert chain == [f"{n:04d}" for n in range(1, len(chain) + 1)]
    assert chain[-4:] == ["0012", "0013", "0014", "0015"]


def test_an_empty_database_migrates_to_exactly_the_declared_tables(empty_engine):
    upgrade(empty_engine)
    assert current(empty_engine) == revisions()[-1]
    assert drift(empty_engine) == []
    tables = set(inspect(empty_engine).get_table_names())
    assert {"trade_suspensions", "export_quotas", "trade_proposals", "console_users"} <= tables


def test_down_to_nothing_and_up_again_gives_the_same_schema(empty_engine):
    upgrade(empty_engine)
    downgrade(empty_engine, "base")
    assert set(inspect(empty_engine).get_table_names()) == {"alembic_version"}
    assert current(empty_engine) is None
    upgrade(empty_engine)
    assert drift(empty_engine) == []


def test_every_revision_steps_down_and_back_up(empty_engine):
    chain = revisions()
    upgrade(empty_engine)
    for below in reversed(chain[:-1]):
        downgrade(empty_engine, below)
        assert current(empty_engine) == below
    for revision in chain[1:]:
        upgrade(empty_engine, revision)
        assert current(empty_engine) == revision
    assert drift(empty_engine) == []

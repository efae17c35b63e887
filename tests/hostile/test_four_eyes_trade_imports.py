"""Four eyes on Species+ imports of suspensions and quotas, with two real OS accounts.

The console script runs as ``nobody`` and ``daemon`` (os_accounts.py) against PostgreSQL: a
file ``nobody`` proposes applies only when ``daemon`` approves it; ``nobody`` cannot approve
its own import, neither by ``--user`` nor by ``USER=``, and the audit chain names both
accounts.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from cites_connector.adapters.sql.engine import make_engine
from cites_connector.adapters.sql.hs_schema import admin_audit
from tests.hostile.os_accounts import Connector, require_root_and_accounts

pytestmark = pytest.mark.postgres

REAL = Path(__file__).parents[1] / "fixtures" / "speciesplus" / "real"
ROLES = {"nobody": "approver", "daemon": "approver"}


@pytest.fixture
def connector(postgres_url):
    require_root_and_accounts()
    connector = Connector(postgres_url, env={"CONNECTOR_HS_ROLES": json.dumps(ROLES)})
    assert connector.run("migrate").exit_code == 0
    yield connector
    connector.close()


def test_an_import_needs_a_second_account(connector, postgres_url):
    path = connector.home / "elephant.json"
    shutil.copyfile(REAL / "taxon_concepts_4521_cites_legislation.json", path)
    path.chmod(0o644)

    def as_(account, *args, env=None):
        return connector.run(*args, account=account, env=env)

    proposed = as_(
        "nobody",
        "suspensions",
        "import",
        str(path),
        "--taxon",
        "Loxodonta africana",
        "--reason",
        "Species+ refresh",
    )
    assert proposed.exit_code == 0, proposed.stderr
    own = as_("nobody", "suspensions", "approve", "1", "--reason", "mine")
    assert own.exit_code == 1 and "four eyes" in own.stderr
    claimed = as_("nobody", "suspensions", "approve", "1", "--user", "daemon", "--reason", "x")
    assert claimed.exit_code == 2
    disguised = as_(
        "nobody",
        "suspensions",
        "approve",
        "1",
        "--reason",
        "x",
        env={"USER": "daemon", "LOGNAME": "daemon"},
    )
    assert disguised.exit_code == 1
    listing = json.loads(as_("root", "suspensions", "list", "--json").stdout)
    assert listing["suspensions"] == []

    approved = as_("daemon", "suspensions", "approve", "1", "--reason", "checked")
    assert approved.exit_code == 0, approved.stderr
    assert "13 added" in approved.stdout
    assert len(json.loads(as_("root", "suspensions", "list", "--json").stdout)["suspensions"]) == 13

    engine = make_engine(postgres_url)
    try:
        a = admin_audit.c
        with engine.connect() as c:
            rows = c.execute(select(a.actor, a.action).where(a.actor != "migrate")).all()
    finally:
        engine.dispose()
    assert [tuple(r) for r in rows] == [
        ("nobody", "suspensions.propose"),
        ("daemon", "suspensions.approve"),
    ]

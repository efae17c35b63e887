"""Issue 9, item 9: four eyes by a self-declared ``--user`` is two names, not two people.

Before the fix, every ``hs`` command took ``--user`` (default ``getpass.getuser()``, which
believes ``$LOGNAME`` and ``$USER``), so one person proposed a table as themselves and
approved it with ``--user colleague``, or with ``USER=colleague``. Contract 7 (v2): the
administrative verbs (``hs``, ``declarations cancel``, ``outbox retry``, ``dlq replay``, and
later ``suspensions`` and ``quotas``) record the operating-system account running the
command; ``--user`` is refused with exit 2. These tests run the real console script as two
real accounts (``daemon`` and ``nobody``, see os_accounts.py) against PostgreSQL.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from cites_connector.adapters.sql import tables as t
from cites_connector.adapters.sql.engine import make_engine
from cites_connector.adapters.sql.hs_schema import admin_audit
from tests.hostile.ledger_dump import ledger_dump
from tests.hostile.os_accounts import Connector, require_root_and_accounts
from tests.samples import write_samples

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
ROLES = {"nobody": "approver", "daemon": "approver"}
REFUSED = (
    "error: --user {claimed} is refused: administrative commands record the "
    "operating-system account that runs them ({account}); run the command as that "
    "person's own account (e.g. sudo -u NAME cites-connector ...)"
)


@pytest.fixture
def connector(postgres_url):
    require_root_and_accounts()
    connector = Connector(postgres_url, env={"CONNECTOR_HS_ROLES": json.dumps(ROLES)})
    migrated = connector.run("migrate")
    assert migrated.exit_code == 0, migrated.stderr
    yield connector
    connector.close()


@pytest.fixture
def engine(postgres_url):
    engine = make_engine(postgres_url)
    yield engine
    engine.dispose()


def admin_actions(engine) -> list[tuple[str, str, str]]:
    a = admin_audit.c
    with engine.connect() as c:
        return [
            tuple(r)
            for r in c.execute(
                select(a.actor, a.action, a.subject).where(a.actor != "migrate").order_by(a.seq)
            )
        ]


def test_one_person_cannot_propose_and_approve_a_table_under_another_name(connector, engine):
    nobody = functools.partial(connector.run, account="nobody")
    assert nobody("hs", "draft", "new", "--edition", "HS2022", "--reason", "tegus").exit_code == 0
    assert (
        nobody(
            "hs",
            "draft",
            "add",
            "D1",
            "0106.20",
            "Salvator",
            "--terms",
            "LIV",
            "--reason",
            "tegus split from Tupinambis",
        ).exit_code
        == 0
    )
    assert nobody("hs", "propose", "D1", "--reason", "ready").exit_code == 0
    before = ledger_dump(engine)

    own = nobody("hs", "approve", "D1", "--reason", "looks fine")
    assert own.exit_code == 1
    assert own.error_lines == [
        "error: nobody proposed draft D1 and cannot approve it: another "
        "approver must review it (four eyes)"
    ]

    claimed = nobody("hs", "approve", "D1", "--user", "daemon", "--reason", "as daemon")
    assert claimed.exit_code == 2
    assert claimed.error_lines == [REFUSED.format(claimed="daemon", account="nobody")]

    disguised = nobody(
        "hs",
        "approve",
        "D1",
        "--reason",
        "as daemon",
        env={"USER": "daemon", "LOGNAME": "daemon", "LNAME": "daemon", "USERNAME": "daemon"},
    )
    assert disguised.exit_code == 1
    assert disguised.error_lines[0].startswith("error: nobody proposed draft D1")
    assert ledger_dump(engine) == before

    approved = connector.run(
        "hs", "approve", "D1", "--reason", "second pair of eyes", account="daemon"
    )
    assert approved.exit_code == 0, approved.stderr
    [draft] = json.loads(nobody("hs", "list", "--json").stdout)["drafts"]
    assert (draft["created_by"], draft["proposed_by"], draft["approved_by"]) == (
        "nobody",
        "nobody",
        "daemon",
    )
    assert admin_actions(engine) == [
        ("nobody", "hs.draft.created", "D1"),
        ("nobody", "hs.draft.row_added", "D1"),
        ("nobody", "hs.draft.proposed", "D1"),
        ("daemon", "hs.draft.approved", "D1"),
    ]


@pytest.mark.parametrize(
    "verb",
    [
        ("hs", "list"),
        ("hs", "draft", "new", "--edition", "HS2022", "--reason", "x"),
        ("declarations", "cancel", "WDHA-1042", "--reason", "x"),
        ("outbox", "retry", "--all-failed"),
        ("dlq", "replay", "--all"),
    ],
    ids=lambda verb: " ".join(verb[:2]),
)
def test_every_administrative_verb_refuses_a_claimed_user_and_changes_nothing(
    connector, engine, verb
):
    before = ledger_dump(engine)
    refused = connector.run(*verb, "--user", "daemon", account="nobody")
    assert refused.exit_code == 2
    assert refused.error_lines == [REFUSED.format(claimed="daemon", account="nobody")]
    assert ledger_dump(engine) == before


def test_a_cancellation_and_an_outbox_retry_record_the_os_account(connector, engine, tmp_path):
    permits, sad = write_samples(tmp_path / "samples")  # dated today: the CLI's real clock
    assert connector.run("permits", "import", str(permits)).exit_code == 0
    cleared = connector.run("declarations", "clear", str(sad), "--id", "WDHA-1042")
    assert cleared.exit_code == 0, cleared.stdout + cleared.stderr

    cancelled = connector.run(
        "declarations", "cancel", "WDHA-1042", "--reason", "withdrawn", account="nobody"
    )
    assert cancelled.exit_code == 0, cancelled.stderr
    retried = connector.run("outbox", "retry", "--all-failed", account="daemon")
    assert retried.exit_code == 0, retried.stderr

    a = t.audit_log.c
    with engine.connect() as c:
        cancel = c.execute(select(a.actor).where(a.action == "declaration.cancelled")).scalar()
    assert cancel == "nobody"
    assert ("daemon", "outbox.retry", "outbox") in admin_actions(engine)

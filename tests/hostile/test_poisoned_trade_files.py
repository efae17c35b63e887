"""A poisoned or malformed Species+ file given to ``suspensions import`` / ``quotas import``
changes nothing: every entry is checked before anything is written, the refusal is one line
naming the entry and field (exit 2), and neither the tables nor the audit chain move.

Nothing changed means: no suspension, quota or proposed import stored, no audit row. The
attacks: a valid entry followed by a bad one (half an import would leave a suspension
list that looks complete), codes outside the CITES lists, countries that are not ISO codes,
control characters and oversized text in what officers read, impossible dates, numbers that
would overflow the ledger's columns or mean nothing (NaN, Infinity, negative, 1e400), JSON
nested to exhaust the parser, a file too large to be a response, and types that are not what
Species+ sends (booleans as ids, strings as flags).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, func, select

from cites_connector.adapters.sql.hs_schema import admin_audit
from cites_connector.adapters.sql.trade_schema import (
    export_quotas,
    trade_proposals,
    trade_suspensions,
)
from cites_connector.cli.actor import os_account
from cites_connector.cli.main import cli

REAL = Path(__file__).parents[1] / "fixtures" / "speciesplus" / "real"
ELEPHANT = json.loads((REAL / "taxon_concepts_4521_cites_legislation.json").read_text())
GOOD_SUSPENSION = ELEPHANT["cites_suspensions"][0]
GOOD_QUOTA = next(q for q in ELEPHANT["cites_quotas"] if q["geo_entity"]["iso_code2"] == "NA")


def poisoned_suspension(**changes) -> dict:
    bad = copy.deepcopy(GOOD_SUSPENSION) | {"id": 999}
    for path, value in changes.items():
        target = bad
        *parents, leaf = path.split("__")
        for parent in parents:
            target = target[parent]
        target[leaf] = value
    return {"cites_suspensions": [GOOD_SUSPENSION, bad]}


def poisoned_quota(**changes) -> dict:
    return {"cites_quotas": [GOOD_QUOTA, copy.deepcopy(GOOD_QUOTA) | {"id": 999} | changes]}


SUSPENSION_ATTACKS = {
    "unknown source code": poisoned_suspension(sources=["W", "K"]),
    "country not ISO": poisoned_suspension(geo_entity__iso_code2="NAM"),
    "country lower case": poisoned_suspension(geo_entity__iso_code2="na"),
    "control characters in the notification": poisoned_suspension(
        start_notification__name="CITES Notif. No. 2014/037\x1b[2J"
    ),
    "notification 10 kB": poisoned_suspension(start_notification__name="N" * 10_000),
    "no notification": poisoned_suspension(start_notification=None),
    "blank notification": poisoned_suspension(start_notification__name="   "),
    "30 February": poisoned_suspension(start_date="2026-02-30"),
    "date with a time": poisoned_suspension(start_date="2026-02-01T00:00:00"),
    "ends before it starts": poisoned_suspension(end_date="2000-01-01"),
    "flag as text": poisoned_suspension(applies_to_import="false"),
    "id as boolean": poisoned_suspension(id=True),
    "concept id as text": poisoned_suspension(taxon_concept_id="4521; DROP TABLE"),
    "entry not an object": {"cites_suspensions": [GOOD_SUSPENSION, ["not", "an", "object"]]},
    "list not a list": {"cites_suspensions": {"0": GOOD_SUSPENSION}},
}
QUOTA_ATTACKS = {
    "negative quota": poisoned_quota(quota=-1),
    "quota as text": poisoned_quota(quota="180"),
    "quota as boolean": poisoned_quota(quota=True),
    "quota past the column": poisoned_quota(quota=1e15),
    "quota finer than a millionth": poisoned_quota(quota=0.0000001),
    "unknown unit": poisoned_quota(unit={"code": "FURLONG"}),
    "no year nor publication date": poisoned_quota(publication_date=None),
}
RAW_ATTACKS = {
    "NaN": b'{"cites_quotas": [{"id": 1, "quota": NaN}]}',
    "Infinity": b'{"cites_suspensions": [], "x": Infinity}',
    "1e400": json.dumps({"cites_quotas": [GOOD_QUOTA]}).replace("180.0", "1e400").encode(),
    "nested 100000 deep": b"[" * 100_000 + b"]" * 100_000,
    "not UTF-8": b'{"cites_suspensions": ["\xff"]}',
    "6 MB": b'{"cites_suspensions": [], "pad": "' + b"x" * 6_000_000 + b'"}',
}


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.setenv("CONNECTOR_HOME_COUNTRY", "NA")
    monkeypatch.setenv("CONNECTOR_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("CONNECTOR_LOGGING__LEVEL", "WARNING")
    monkeypatch.setenv("CONNECTOR_HS_ROLES", json.dumps({os_account(): "editor"}))
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(cli, list(args), catch_exceptions=False)

    assert invoke("migrate").exit_code == 0
    return invoke


def state(tmp_path: Path) -> tuple[int, int, int, int]:
    engine = create_engine(f"sqlite:///{tmp_path / 'var' / 'connector.sqlite3'}")
    try:
        with engine.connect() as c:
            return tuple(  # type: ignore[return-value]
                c.execute(select(func.count()).select_from(t)).scalar_one()
                for t in (trade_suspensions, export_quotas, trade_proposals, admin_audit)
            )
    finally:
        engine.dispose()


def attempt(run, tmp_path, verb: str, raw: bytes):
    path = tmp_path / "poisoned.json"
    path.write_bytes(raw)
    before = state(tmp_path)
    result = run(verb, "import", str(path), "--taxon", "Loxodonta africana", "--reason", "x")
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: ") and len(result.stderr.strip().splitlines()) == 1
    assert state(tmp_path) == before
    return result


@pytest.mark.parametrize("name", SUSPENSION_ATTACKS)
def test_a_poisoned_suspension_file_changes_nothing(run, tmp_path, name):
    result = attempt(run, tmp_path, "suspensions", json.dumps(SUSPENSION_ATTACKS[name]).encode())
    if name not in ("entry not an object", "list not a list"):
        assert "cites_suspensions[1] (id " in result.stderr


@pytest.mark.parametrize("name", QUOTA_ATTACKS)
def test_a_poisoned_quota_file_changes_nothing(run, tmp_path, name):
    result = attempt(run, tmp_path, "quotas", json.dumps(QUOTA_ATTACKS[name]).encode())
    assert "cites_quotas[1] (id 999)" in result.stderr


@pytest.mark.parametrize("name", RAW_ATTACKS)
def test_a_file_that_is_no_json_species_plus_sends_changes_nothing(run, tmp_path, name):
    verb = "quotas" if b"cites_quotas" in RAW_ATTACKS[name][:40] else "suspensions"
    attempt(run, tmp_path, verb, RAW_ATTACKS[name])


def test_the_good_entries_alone_import(run, tmp_path):
    """The attacks above fail on their poisoned entry, not on the good one beside it."""
    path = tmp_path / "good.json"
    path.write_text(json.dumps({"cites_suspensions": [GOOD_SUSPENSION]}))
    result = run(
        "suspensions", "import", str(path), "--taxon", "Loxodonta africana", "--reason", "x"
    )
    assert result.exit_code == 0, result.output
    assert state(tmp_path)[2] == 1  # proposed, for a second person to approve

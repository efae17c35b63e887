"""Issue 9, item 3: a cancelled declaration sent again must not come back as CLEARED.

Before the fix, ``CheckDeclaration`` of a cancelled (id, version) answered the stored CLEARED
decision while nothing was written off any more and the permit was free again: customs would
release the goods on a clearance the ledger no longer held. Contract 1 (v2): such a repeat gets
``Client.DeclarationCancelled`` and changes nothing; a higher version is decided afresh;
``GetDecision`` answers ``CANCELLED``.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from cites_connector.adapters.soap.clearance_client import ClearanceFault
from cites_connector.cli.main import cli
from tests.hostile.clearance_kit import edited_sad, soap_service
from tests.hostile.ledger_dump import ledger_dump
from tests.integration.soap.conftest import SAMPLE_SAD
from tests.samples import write_samples


@pytest.fixture
def service(tmp_path):
    with soap_service(tmp_path) as running:
        yield running


def test_a_repeat_of_a_cancelled_version_is_refused_and_writes_nothing(service):
    client = service.client()
    assert client.check_declaration("CXL-1", 1, SAMPLE_SAD)["Decision"] == "CLEARED"
    client.cancel_declaration("CXL-1", "goods not shipped")
    before = ledger_dump(service.app.engine)

    with pytest.raises(ClearanceFault) as refused:
        client.check_declaration("CXL-1", 1, SAMPLE_SAD)

    assert refused.value.code == "Client.DeclarationCancelled"
    assert refused.value.faultcode == "soap:Client.DeclarationCancelled"
    assert "CXL-1" in refused.value.message and "version 1" in refused.value.message
    assert ledger_dump(service.app.engine) == before
    assert service.remaining("26NA000123") == "40"
    assert client.get_permit_balance("26NA000123")["Status"] == "VALID"


def test_a_repeat_of_a_cancelled_held_declaration_is_refused_too(service):
    client = service.client()
    held = edited_sad({"Item/Tarification/Supplementary_unit/Suppplementary_unit_quantity": "41"})
    assert client.check_declaration("CXL-H", 1, held)["Decision"] == "HELD"
    client.cancel_declaration("CXL-H", "withdrawn")
    before = ledger_dump(service.app.engine)

    with pytest.raises(ClearanceFault) as refused:
        client.check_declaration("CXL-H", 1, held)

    assert refused.value.code == "Client.DeclarationCancelled"
    assert ledger_dump(service.app.engine) == before


def test_get_decision_of_a_cancelled_declaration_answers_cancelled(service):
    client = service.client()
    client.check_declaration("CXL-2", 1, SAMPLE_SAD)
    client.cancel_declaration("CXL-2", "goods not shipped")

    shown = client.get_decision("CXL-2")

    assert (shown["Decision"], shown["State"], shown["Version"]) == ("CANCELLED", "CANCELLED", 1)
    pythons, skins, _tubs = shown["Items"]
    assert [i["Status"] for i in shown["Items"]] == ["MATCHED", "MATCHED", "NOT_CONCERNED"]
    assert (pythons["PermitNumber"], pythons["Quantity"]) == ("26NA000123", Decimal("40"))
    assert pythons["RemainingAfter"] is None and skins["RemainingAfter"] is None


def test_a_higher_version_after_a_cancellation_is_decided_and_written_off_again(service):
    client = service.client()
    client.check_declaration("CXL-3", 1, SAMPLE_SAD)
    client.cancel_declaration("CXL-3", "re-declared")

    again = client.check_declaration("CXL-3", 2, SAMPLE_SAD)

    assert (again["Version"], again["Decision"]) == (2, "CLEARED")
    assert service.remaining("26NA000123") == "0" and service.remaining("26NA000131") == "38"
    shown = client.get_decision("CXL-3")
    assert (shown["Decision"], shown["State"]) == ("CLEARED", "CLEARED")
    with pytest.raises(ClearanceFault) as stale:
        client.check_declaration("CXL-3", 1, SAMPLE_SAD)
    assert stale.value.code == "Client.StaleVersion"


# -- the same through the command line ------------------------------------------------------


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.setenv("CONNECTOR_HOME_COUNTRY", "NA")
    monkeypatch.setenv("CONNECTOR_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("CONNECTOR_LOGGING__LEVEL", "WARNING")
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(cli, list(args), catch_exceptions=False)

    assert invoke("migrate").exit_code == 0
    return invoke


def test_the_cli_refuses_to_clear_a_cancelled_version_with_one_line_and_exit_1(run, tmp_path):
    permits, sad = write_samples(tmp_path / "samples")  # dated today: the CLI's clock
    assert run("permits", "import", str(permits)).exit_code == 0
    assert run("declarations", "clear", str(sad), "--id", "CLI-CXL").exit_code == 0
    assert run("declarations", "cancel", "CLI-CXL").exit_code == 0
    engine = _engine(tmp_path)
    before = ledger_dump(engine)

    again = run("declarations", "clear", str(sad), "--id", "CLI-CXL")

    assert again.exit_code == 1
    assert again.stdout == ""
    assert again.stderr.count("\n") == 1 and again.stderr.startswith("error: ")
    assert "CLI-CXL" in again.stderr and "cancelled" in again.stderr
    assert ledger_dump(engine) == before
    shown = run("declarations", "show", "CLI-CXL", "--json")
    assert shown.exit_code == 0
    body = json.loads(shown.stdout)
    assert (body["decision"], body["state"]) == ("CANCELLED", "CANCELLED")
    assert "CANCELLED" in run("declarations", "show", "CLI-CXL").stdout.splitlines()[0]
    engine.dispose()


def _engine(tmp_path: Path):
    from cites_connector.adapters.sql.engine import make_engine

    return make_engine(f"sqlite:///{tmp_path / 'var' / 'connector.sqlite3'}")

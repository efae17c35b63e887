"""``permits import`` checks an ePermit's signature; ``permits show`` and the decision
(``declarations clear|show``) say who signed it."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from cites_connector.cli.main import cli
from tests.signing import altered, parrots, signed, south_africa


@pytest.fixture
def run(tmp_path, monkeypatch):
    authority = south_africa()
    authority.write(tmp_path / "var" / "trust" / "ZA" / "dffe.pem")  # default trust dir
    monkeypatch.setenv("CONNECTOR_HOME_COUNTRY", "NA")
    monkeypatch.setenv("CONNECTOR_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("CONNECTOR_LOGGING__LEVEL", "WARNING")
    runner = CliRunner()
    assert runner.invoke(cli, ["migrate"]).exit_code == 0

    def invoke(*args: str, document: bytes | None = None):
        if document is not None:
            (tmp_path / "permit.xml").write_bytes(document)
            args = (*args, str(tmp_path / "permit.xml"))
        return runner.invoke(cli, list(args))

    invoke.authority = authority  # type: ignore[attr-defined]
    return invoke


def test_a_signed_permit_is_imported_and_shown_with_its_signer(run):
    assert run("permits", "import", document=signed(run.authority)).exit_code == 0
    shown = run("permits", "show", "26ZA004431")
    assert "signed by CN=Department of Forestry" in shown.output
    data = json.loads(run("permits", "show", "26ZA004431", "--format", "json").output)
    assert data["signer"].endswith(", C=ZA") and data["unsigned"] is False


def test_an_unsigned_permit_is_shown_unsigned(run):
    assert run("permits", "import", document=parrots()).exit_code == 0
    assert "\nunsigned\n" in run("permits", "show", "26ZA004431").output


def test_an_altered_permit_is_refused_and_not_stored(run):
    result = run("permits", "import", document=altered(signed(run.authority)))
    assert result.exit_code != 0
    assert "SIGNATURE_INVALID" in result.output
    assert run("permits", "show", "26ZA004431").exit_code == 1


def _import_of_the_parrots(tmp_path) -> str:
    """The repository's example import citing 26ZA004431, registered today."""
    sad = Path(__file__).parents[2] / "examples" / "sad-import-WDHA-I2001-epix.xml"
    today = datetime.now(UTC).strftime("%d/%m/%Y")
    path = tmp_path / "sad.xml"
    path.write_text(sad.read_text().replace("<Date>28/11/2026</Date>", f"<Date>{today}</Date>"))
    return str(path)


def test_the_decision_says_who_signed_the_permit_an_item_was_matched_to(run, tmp_path):
    assert run("permits", "import", document=signed(run.authority)).exit_code == 0
    sad = _import_of_the_parrots(tmp_path)
    cleared = run("declarations", "clear", sad, "--id", "I2001", "--format", "json")
    assert cleared.exit_code == 0, cleared.output
    item = json.loads(cleared.output)["items"][0]
    assert item["permit_number"] == "26ZA004431"
    assert item["permit_signature"].startswith("signed by CN=Department of Forestry")
    shown = run("declarations", "show", "I2001")
    assert "signed by CN=Department of Forestry" in shown.output
    rows = csv.DictReader(
        io.StringIO(run("declarations", "show", "I2001", "--format", "csv").output)
    )
    assert next(rows)["signature"].startswith("signed by CN=Department of Forestry")


def test_an_item_matched_to_an_unsigned_permit_is_flagged_and_says_unsigned(run, tmp_path):
    assert run("permits", "import", document=parrots()).exit_code == 0
    cleared = run("declarations", "clear", _import_of_the_parrots(tmp_path), "--id", "I2001")
    assert cleared.exit_code == 0, cleared.output
    data = json.loads(run("declarations", "show", "I2001", "--format", "json").output)
    item = data["items"][0]
    assert item["permit_signature"] == "unsigned"
    assert "PERMIT_UNSIGNED" in [f["code"] for f in item["risk_flags"]]

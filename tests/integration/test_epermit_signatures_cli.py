"""``permits import`` checks an ePermit's signature; ``permits show`` says who signed it."""

from __future__ import annotations

import json

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

"""``permits import`` of a hostile XML file: entity expansion, external entities and a DTD are
refused (exit 2, nothing stored), as on the AMQP path (mappings/safe_xml.py)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from cites_connector.cli.main import cli

LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<CITESEPermit><HeaderExchangedDocument><ID>&lol3;</ID></HeaderExchangedDocument></CITESEPermit>
"""
EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<CITESEPermit><HeaderExchangedDocument><ID>&secret;</ID></HeaderExchangedDocument></CITESEPermit>
"""


@pytest.mark.parametrize("document", [LAUGHS, EXTERNAL], ids=["entity expansion", "external"])
def test_hostile_xml_permit_files_are_refused_and_store_nothing(tmp_path, monkeypatch, document):
    monkeypatch.setenv("CONNECTOR_HOME_COUNTRY", "NA")
    monkeypatch.setenv("CONNECTOR_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("CONNECTOR_LOGGING__LEVEL", "WARNING")
    runner = CliRunner()
    assert runner.invoke(cli, ["migrate"]).exit_code == 0
    file = tmp_path / "permit.xml"
    file.write_bytes(document)
    result = runner.invoke(cli, ["permits", "import", str(file)])
    assert result.exit_code == 2, result.output
    assert "root:" not in result.output  # nothing of /etc/passwd echoed back
    listed = runner.invoke(cli, ["permits", "show", "lol", "--json"])
    assert listed.exit_code == 1

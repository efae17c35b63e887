"""``simulate-customs send``: the customs side sends the sample SAD to the real SOAP service."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

from cites_connector.adapters.soap.wsgi import SOAP_PATH
from cites_connector.app import build_application
from cites_connector.app.serving import build_soap_app
from cites_connector.app.settings import load_settings
from cites_connector.cli.main import cli
from cites_connector.devtools.customs_simulator.server import BackgroundServer
from tests.samples import write_samples


@pytest.fixture
def samples(tmp_path):
    """(permits, SAD) dated today: the service decides on the real clock."""
    return write_samples(tmp_path / "samples")


@pytest.fixture
def connector_url(tmp_path, monkeypatch, samples):
    monkeypatch.setenv("CONNECTOR_HOME_COUNTRY", "NA")
    monkeypatch.setenv("CONNECTOR_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("CONNECTOR_LOGGING__LEVEL", "WARNING")
    runner = CliRunner()
    assert runner.invoke(cli, ["migrate"]).exit_code == 0
    imported = runner.invoke(cli, ["permits", "import", str(samples[0])])
    assert imported.exit_code == 0
    app = build_application(load_settings())
    server = BackgroundServer(build_soap_app(app, users={"customs": "pw"})).start()
    yield server.url(SOAP_PATH)
    server.stop()
    app.close()


def send(url: str, sad: Path, *extra: str):
    return CliRunner().invoke(
        cli,
        [
            "simulate-customs",
            "send",
            str(sad),
            "--connector",
            url,
            "--id",
            "WDHA-1042",
            "--user",
            "customs",
            *extra,
        ],
    )


def test_send_clears_the_sample_declaration_through_the_soap_service(connector_url, samples):
    result = send(connector_url, samples[1], "--password", "pw", "--json")
    assert result.exit_code == 0, result.output
    answer = json.loads(result.output)
    assert answer["Decision"] == "CLEARED"
    assert [i["Status"] for i in answer["Items"]] == ["MATCHED", "MATCHED", "NOT_CONCERNED"]

    again = send(connector_url, samples[1], "--password", "pw", "--digest")
    assert again.exit_code == 0
    assert "WDHA-1042 version 1: CLEARED" in again.output and "26NA000123" in again.output


def test_send_with_a_wrong_password_reports_the_fault_as_bad_input(connector_url, samples):
    result = send(connector_url, samples[1], "--password", "nope")
    assert result.exit_code == 2 and "Client.Authentication" in result.output


def test_send_to_a_connector_that_is_not_running_is_unavailable(samples):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = send(f"http://127.0.0.1:{port}/soap/clearance", samples[1], "--password", "pw")
    assert result.exit_code == 3 and "not reachable" in result.output

"""The customs simulator: its WSDL, authentication, validation, records, and its command."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest
import requests
import zeep
from click.testing import CliRunner
from zeep.exceptions import Fault
from zeep.wsse.username import UsernameToken

from cites_connector.adapters.customs.callback_client import CustomsCallbackClient
from cites_connector.adapters.customs.callback_request import submit_control_result_request
from cites_connector.adapters.outbox.delivery import RetryableDeliveryError
from cites_connector.cli.main import cli
from cites_connector.devtools.customs_simulator.recorder import RecordedCall, open_recorder
from tests.integration.customs.customs_kit import PASSWORD, USER
from tests.integration.customs.test_customs_callback import callback

REQUEST = submit_control_result_request(callback("cb-1").body, "cb-1")


def test_the_served_wsdl_names_the_address_it_was_fetched_from_and_zeep_can_call_it(simulator):
    _app, url = simulator
    client = zeep.Client(f"{url}?wsdl", wsse=UsernameToken(USER, PASSWORD))
    [service] = client.wsdl.services.values()
    [port] = service.ports.values()
    assert port.binding_options["address"] == url

    answer = client.service.SubmitControlResult(**REQUEST)
    assert (answer.CallbackId, answer.Accepted, answer.Duplicate) == ("cb-1", True, False)


def test_a_call_without_username_token_gets_client_authentication(simulator):
    app, url = simulator
    with pytest.raises(Fault) as fault:
        zeep.Client(f"{url}?wsdl").service.SubmitControlResult(**REQUEST)
    assert fault.value.code.endswith("Client.Authentication")
    assert app.recorder.calls() == []


def test_a_password_digest_token_is_accepted(simulator):
    app, url = simulator
    client = zeep.Client(f"{url}?wsdl", wsse=UsernameToken(USER, PASSWORD, use_digest=True))
    assert client.service.SubmitControlResult(**REQUEST).Accepted is True
    assert app.recorder.calls()[0].user == USER


def test_a_wrong_digest_is_refused(simulator):
    _, url = simulator
    client = zeep.Client(f"{url}?wsdl", wsse=UsernameToken(USER, "guess", use_digest=True))
    with pytest.raises(Fault, match="wrong password"):
        client.service.SubmitControlResult(**REQUEST)


def test_without_configured_users_no_token_is_needed(start_simulator):
    app, url = start_simulator(users={})
    assert CustomsCallbackClient(url, allow_http=True).submit(REQUEST).accepted
    assert app.recorder.calls()[0].user is None


@pytest.mark.parametrize(
    "body, code",
    [
        (
            b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "boom">]>'
            b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"/>',
            "Client.MalformedXml",
        ),
        (
            b'<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Body/>'
            b"</env:Envelope>",
            "Client.MalformedXml",
        ),
        (
            b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
            b'<cb:SubmitControlResultRequest xmlns:cb="urn:cites-connector:customs-callback:1">'
            b"<cb:CallbackId>x</cb:CallbackId></cb:SubmitControlResultRequest></soap:Body>"
            b"</soap:Envelope>",
            "Client.SchemaViolation",
        ),
    ],
)
def test_bad_requests_get_a_fault_and_are_not_recorded(start_simulator, body, code):
    app, url = start_simulator(users={})
    answer = requests.post(url, data=body, headers={"Content-Type": "text/xml"}, timeout=5)
    assert answer.status_code == 500 and f"soap:{code}" in answer.text
    assert app.recorder.calls() == []


@pytest.mark.parametrize("name", ["calls.json", "calls.sqlite"])
def test_records_survive_a_restart_and_repeats_stay_duplicates(tmp_path, name):
    call = RecordedCall("cb-1", "D1", 1, "CLEARED", "2026-11-28T10:00:00Z")
    assert open_recorder(tmp_path / name).record(call).duplicate is False
    again = open_recorder(tmp_path / name)  # a restarted simulator
    assert again.record(call).duplicate is True
    assert [c.duplicate for c in again.calls()] == [False, True]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(url: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}?wsdl", timeout=1).status_code == 200:
                return
        except requests.ConnectionError:
            time.sleep(0.1)
    raise AssertionError(f"the simulator did not start at {url}")


def test_the_serve_command_fails_first_calls_records_the_rest_and_stops_on_sigterm(tmp_path):
    record, port = tmp_path / "calls.json", _free_port()
    url = f"http://127.0.0.1:{port}/soap/customs-callback"
    env = os.environ | {"CONNECTOR_CUSTOMS_USER": USER, "CONNECTOR_CUSTOMS_PASSWORD": PASSWORD}
    server = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from cites_connector.cli.main import main; main()",
            "simulate-customs",
            "serve",
            "--port",
            str(port),
            "--record",
            str(record),
            "--fail-first",
            "1",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_for(url)
        client = CustomsCallbackClient(url, user=USER, password=PASSWORD, allow_http=True)
        with pytest.raises(RetryableDeliveryError, match=r"Server\.Unavailable"):
            client.submit(REQUEST)
        assert client.submit(REQUEST).duplicate is False
        assert client.submit(REQUEST).duplicate is True
    finally:
        server.send_signal(signal.SIGTERM)
        out, err = server.communicate(timeout=20)
    assert server.returncode == 0, err.decode()
    assert b"simulator.call" in out  # one JSON log line per call

    shown = CliRunner().invoke(
        cli, ["simulate-customs", "calls", "--record", str(record), "--json"]
    )
    assert shown.exit_code == 0
    assert [(c["callback_id"], c["duplicate"]) for c in json.loads(shown.output)] == [
        ("cb-1", False),
        ("cb-1", True),
    ]
    text = CliRunner().invoke(cli, ["simulate-customs", "calls", "--record", str(record)])
    assert "WDHA-1042" in text.output and "yes" in text.output


def test_calls_without_a_record_file_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(
        cli, ["simulate-customs", "calls", "--record", str(tmp_path / "none.sqlite")]
    )
    assert result.exit_code == 2 and "does not exist" in result.output

"""Issue 9, item 13: the customs callback must not hand the customs password to anyone else.

Contract 4 (v2): the callback client never follows redirects (a 3xx is a failure), refuses
plain ``http://`` endpoints unless ``CONNECTOR_CUSTOMS_ALLOW_HTTP=true``, sends PasswordText or
PasswordDigest with a ``wsu:Timestamp`` as ``CONNECTOR_CUSTOMS_PASSWORD_TYPE`` says (default
``digest``), and a call refused for good (HTTP 4xx other than 408/429, a SOAP ``Client``
fault) is failed in the outbox, not retried for ever.

Before the fix a 307 from the customs endpoint (or anyone able to answer for it) made the
client post the whole envelope, password in clear text, to whatever ``Location`` said.
Everything here runs over real HTTP on loopback: the customs simulator, and a small server
of the test's own that can redirect and that records what reaches it.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from pydantic import ValidationError

from cites_connector.adapters.customs.callback_client import CustomsCallbackClient
from cites_connector.adapters.outbox.backoff import Backoff
from cites_connector.adapters.outbox.delivery import RetryableDeliveryError
from cites_connector.adapters.outbox.relay import OutboxRelay
from cites_connector.adapters.outbox.store import SqlOutboxStore
from cites_connector.app.serving import customs_deliverers
from cites_connector.app.settings import load_settings
from cites_connector.domain.decision_dicts import item_to_dict
from cites_connector.domain.decisions import ItemDecision, ItemStatus
from cites_connector.domain.errors import InvalidInput
from cites_connector.mappings.outbox_messages import CUSTOMS_CALLBACK, OutboxMessage
from tests.integration.customs.customs_kit import PASSWORD, USER
from tests.integration.outbox.outbox_kit import Clock, put, rows

DIGEST_TYPE = "#PasswordDigest"
FAULT = (
    '<?xml version="1.0"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/'
    'envelope/"><soap:Body><soap:Fault><faultcode>soap:{code}</faultcode><faultstring>'
    "{text}</faultstring></soap:Fault></soap:Body></soap:Envelope>"
)


class Recorder(BaseHTTPRequestHandler):
    """Answers every POST with the server's ``reply`` and records what it received."""

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        self.server.received.append((self.path, dict(self.headers), self.rfile.read(length)))
        status, headers, body = self.server.reply
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST

    def log_message(self, *_args):  # quiet
        pass


@pytest.fixture
def http_server():
    servers = []

    def start(status: int = 200, headers: dict | None = None, body: bytes = b""):
        server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
        server.received, server.reply = [], (status, headers or {}, body)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server, f"http://127.0.0.1:{server.server_port}/soap/customs-callback"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def callback(callback_id: str = "cb-1") -> OutboxMessage:
    item = ItemDecision(
        1,
        "01062000",
        ItemStatus.MATCHED,
        permit_number="26NA000123",
        issuing_country="NA",
        permit_line="A",
        quantity=Decimal("40"),
        remaining_after=Decimal("0"),
    )
    body = {
        "callback_id": callback_id,
        "declaration_id": "WDHA-1042",
        "version": 1,
        "decision": "CLEARED",
        "items": [item_to_dict(item)],
        "reasons": [],
    }
    return OutboxMessage(
        callback_id,
        CUSTOMS_CALLBACK,
        "SubmitControlResult",
        "SubmitControlResult",
        body,
        "WDHA-1042",
    )


def deliver_once(ledger, client) -> dict:
    put(ledger, callback())
    OutboxRelay(
        SqlOutboxStore(ledger.engine),
        {CUSTOMS_CALLBACK: client},
        clock=Clock(),
        backoff=Backoff(initial=2.0, maximum=60.0, jitter=0.0),
    ).run_once()
    return rows(ledger)["cb-1"]


def client(url: str, **options) -> CustomsCallbackClient:
    options.setdefault("allow_http", True)
    return CustomsCallbackClient(url, user=USER, password=PASSWORD, **options)


# -- redirects ---------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_is_a_failure_and_its_target_never_receives_the_call(
    sqlite_ledger, http_server, status
):
    target, target_url = http_server()
    _, url = http_server(status, {"Location": target_url})

    row = deliver_once(sqlite_ledger, client(url, password_type="text"))

    assert target.received == []  # neither the envelope nor the password went there
    assert row["failed_at"] is not None and row["sent_at"] is None
    assert f"HTTP {status}" in row["last_error"] and "redirect" in row["last_error"]
    assert target_url in row["last_error"]


# -- plain HTTP --------------------------------------------------------------------------------


def test_a_plain_http_endpoint_is_refused_unless_allowed(http_server):
    server, url = http_server()
    with pytest.raises(InvalidInput, match="CONNECTOR_CUSTOMS_ALLOW_HTTP"):
        customs_deliverers(
            load_settings(
                home_country="NA", customs_url=url, customs_user=USER, customs_password=PASSWORD
            )
        )
    with pytest.raises(InvalidInput, match="plain http"):
        CustomsCallbackClient(url, user=USER, password=PASSWORD)
    assert server.received == []

    allowed = customs_deliverers(
        load_settings(home_country="NA", customs_url=url, customs_allow_http=True)
    )
    assert list(allowed) == [CUSTOMS_CALLBACK]


@pytest.mark.parametrize(
    "url", ["ftp://customs.example/cb", "file:///etc/passwd", "customs.example/cb", "https://"]
)
def test_an_endpoint_that_is_not_an_http_url_is_refused(url):
    # refused when the settings are read (pydantic), before any deliverer exists
    with pytest.raises((InvalidInput, ValidationError), match=r"(?i)customs_url"):
        customs_deliverers(
            load_settings(home_country="NA", customs_url=url, customs_allow_http=True)
        )


# -- the password on the wire ------------------------------------------------------------------


def test_the_default_sends_a_password_digest_with_a_timestamp_never_the_password(
    sqlite_ledger, http_server
):
    server, url = http_server(503)  # records the call, answers "later"
    settings = load_settings(
        home_country="NA",
        customs_url=url,
        customs_user=USER,
        customs_password=PASSWORD,
        customs_allow_http=True,
    )

    row = deliver_once(sqlite_ledger, customs_deliverers(settings)[CUSTOMS_CALLBACK])

    [(_, _, envelope)] = server.received
    assert PASSWORD.encode() not in envelope
    assert DIGEST_TYPE.encode() in envelope and b"Nonce" in envelope
    assert b"wsu:Timestamp" in envelope or b":Timestamp" in envelope
    assert b"Expires" in envelope
    assert row["failed_at"] is None and row["attempts"] == 1  # a 503 is retried


def test_the_simulator_takes_the_digest_and_refuses_text_when_it_requires_digests(
    sqlite_ledger, start_simulator
):
    simulator, url = start_simulator(password_type="digest")
    row = deliver_once(sqlite_ledger, client(url))  # default: digest
    assert row["sent_at"] is not None
    [call] = simulator.recorder.calls()
    assert call.user == USER


def test_a_text_password_refused_by_customs_is_failed_not_retried(sqlite_ledger, start_simulator):
    simulator, url = start_simulator(password_type="digest")
    row = deliver_once(sqlite_ledger, client(url, password_type="text"))
    assert row["failed_at"] is not None and row["next_attempt_at"] is None
    assert "Client.Authentication" in row["last_error"]
    assert simulator.recorder.calls() == []


def test_the_simulator_refuses_a_replayed_digest(http_server, start_simulator):
    import requests

    recorder, record_url = http_server(503)
    simulator, url = start_simulator()
    with pytest.raises(RetryableDeliveryError):
        client(record_url).submit(_request())
    [(_, headers, envelope)] = recorder.received
    send = {"Content-Type": headers["Content-Type"], "SOAPAction": headers.get("SOAPAction", "")}
    first = requests.post(url, data=envelope, headers=send, timeout=5)
    again = requests.post(url, data=envelope, headers=send, timeout=5)
    assert first.status_code == 200
    assert again.status_code == 500 and b"Client.Authentication" in again.content
    assert b"nonce" in again.content.lower()
    assert len(simulator.recorder.calls()) == 1


def _request():
    from cites_connector.adapters.customs.callback_request import submit_control_result_request

    return submit_control_result_request(callback().body, "cb-1")


# -- refused for good, or later ----------------------------------------------------------------


@pytest.mark.parametrize(
    "status, failed",
    [
        (400, True),
        (401, True),
        (403, True),
        (404, True),
        (408, False),
        (429, False),
        (500, False),
        (502, False),
        (503, False),
    ],
)
def test_http_statuses_are_failed_or_retried_as_the_contract_says(
    sqlite_ledger, http_server, status, failed
):
    _, url = http_server(status, {"Content-Type": "text/plain"}, b"no")
    row = deliver_once(sqlite_ledger, client(url))
    assert (row["failed_at"] is not None) is failed
    assert f"HTTP {status}" in row["last_error"]
    if not failed:
        assert row["next_attempt_at"] == Clock()() + timedelta(seconds=2)


@pytest.mark.parametrize(
    "code, failed",
    [("Client.SchemaViolation", True), ("Client", True), ("Server.Unavailable", False)],
)
def test_soap_faults_are_failed_when_the_client_is_at_fault(
    sqlite_ledger, http_server, code, failed
):
    body = FAULT.format(code=code, text="no").encode()
    _, url = http_server(500, {"Content-Type": "text/xml"}, body)
    row = deliver_once(sqlite_ledger, client(url))
    assert (row["failed_at"] is not None) is failed
    assert code in row["last_error"]


@pytest.fixture
def sqlite_ledger(tmp_path):
    from cites_connector.adapters.sql.engine import make_engine
    from cites_connector.adapters.sql.ledger import SqlAlchemyLedger
    from cites_connector.adapters.sql.migrate import upgrade

    engine = make_engine(f"sqlite:///{tmp_path / 'ledger.sqlite3'}")
    upgrade(engine)
    yield SqlAlchemyLedger(engine)
    engine.dispose()


def test_serve_refuses_to_start_with_a_plain_http_customs_endpoint(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from cites_connector.cli.main import cli

    monkeypatch.setenv("CONNECTOR_HOME_COUNTRY", "NA")
    monkeypatch.setenv("CONNECTOR_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("CONNECTOR_SOAP_AUTH", "off")
    monkeypatch.setenv("CONNECTOR_CUSTOMS_URL", "http://127.0.0.1:9/soap/customs-callback")
    monkeypatch.delenv("CONNECTOR_CUSTOMS_ALLOW_HTTP", raising=False)
    assert CliRunner().invoke(cli, ["migrate"]).exit_code == 0
    result = CliRunner().invoke(cli, ["serve"])
    assert result.exit_code == 2
    [line] = [ln for ln in result.output.splitlines() if ln.startswith("error:")]
    assert "is plain http" in line and "CONNECTOR_CUSTOMS_ALLOW_HTTP=true" in line

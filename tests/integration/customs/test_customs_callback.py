"""The customs callback through the outbox: zeep over real HTTP to the simulator, and
``responses`` for what the simulator cannot stage (timeouts, bare HTTP errors)."""

from __future__ import annotations

import socket
from datetime import timedelta
from decimal import Decimal

import pytest
import requests
import responses

from cites_connector.adapters.customs.callback_client import CustomsCallbackClient
from cites_connector.adapters.customs.callback_request import submit_control_result_request
from cites_connector.adapters.outbox.backoff import Backoff
from cites_connector.adapters.outbox.delivery import PermanentDeliveryError, RetryableDeliveryError
from cites_connector.adapters.outbox.relay import OutboxRelay
from cites_connector.adapters.outbox.store import OutboxRow, SqlOutboxStore
from cites_connector.app.serving import customs_deliverers
from cites_connector.app.settings import load_settings
from cites_connector.domain.decision_dicts import item_to_dict
from cites_connector.domain.decisions import ItemDecision, ItemStatus, Reason, ReasonCode
from cites_connector.mappings.outbox_messages import CUSTOMS_CALLBACK, OutboxMessage
from tests.integration.customs.customs_kit import PASSWORD, USER
from tests.integration.outbox.outbox_kit import T0, Clock, put, rows

BACKOFF = Backoff(initial=2.0, maximum=60.0, jitter=0.0)
ENDPOINT = "http://customs.example.invalid/soap/customs-callback"


def callback(callback_id: str = "cb-1", declaration_id: str = "WDHA-1042") -> OutboxMessage:
    """A control result as the service layer writes it: a held declaration now cleared."""
    items = [
        ItemDecision(
            1,
            "01062000",
            ItemStatus.MATCHED,
            permit_number="26NA000123",
            issuing_country="NA",
            permit_line="A",
            quantity=Decimal("40"),
            remaining_after=Decimal("0"),
            risk_flags=(Reason(ReasonCode.PARTY_MISMATCH, "exporter differs"),),
        ),
        ItemDecision(
            2,
            "41039000",
            ItemStatus.MATCHED,
            permit_number="26NA000131",
            issuing_country="NA",
            permit_line="A",
            quantity=Decimal("12.5"),
            unit="KIL",
            remaining_after=Decimal("25.5"),
        ),
        ItemDecision(3, "39241000", ItemStatus.NOT_CONCERNED),
    ]
    body = {
        "callback_id": callback_id,
        "declaration_id": declaration_id,
        "version": 1,
        "decision": "CLEARED",
        "items": [item_to_dict(i) for i in items],
        "reasons": [{"code": "PERMIT_UNKNOWN", "message": "released: permit arrived"}],
    }
    return OutboxMessage(
        callback_id,
        CUSTOMS_CALLBACK,
        "SubmitControlResult",
        "SubmitControlResult",
        body,
        declaration_id,
    )


def relay(ledger, client, clock) -> OutboxRelay:
    return OutboxRelay(
        SqlOutboxStore(ledger.engine), {CUSTOMS_CALLBACK: client}, clock=clock, backoff=BACKOFF
    )


# -- against the simulator, over loopback HTTP -------------------------------------------------


def test_a_callback_reaches_customs_with_its_callback_id_items_and_username_token(
    sql_ledger, simulator
):
    app, url = simulator
    put(sql_ledger, callback("cb-1"))
    client = CustomsCallbackClient(url, user=USER, password=PASSWORD, allow_http=True)

    assert relay(sql_ledger, client, Clock()).run_once() == 1

    [call] = app.recorder.calls()
    assert (call.callback_id, call.declaration_id, call.version, call.decision) == (
        "cb-1",
        "WDHA-1042",
        1,
        "CLEARED",
    )
    assert call.user == USER and not call.duplicate
    pythons, leather, tubs = call.items
    assert (pythons["permit_number"], pythons["quantity"], pythons["remaining_after"]) == (
        "26NA000123",
        "40",
        "0",
    )
    assert pythons["risk_flags"] == [{"code": "PARTY_MISMATCH", "message": "exporter differs"}]
    assert (leather["quantity"], leather["unit"]) == ("12.5", "KIL")
    assert tubs["status"] == "NOT_CONCERNED" and tubs["permit_number"] is None
    assert call.reasons == [{"code": "PERMIT_UNKNOWN", "message": "released: permit arrived"}]
    assert rows(sql_ledger)["cb-1"]["sent_at"] is not None


def test_a_callback_failed_while_customs_was_down_is_delivered_once_it_is_back(
    sql_ledger, start_simulator
):
    app, url = start_simulator(fail_first=2)
    put(sql_ledger, callback("cb-1"))
    clock = Clock()
    outbox = relay(
        sql_ledger, CustomsCallbackClient(url, user=USER, password=PASSWORD, allow_http=True), clock
    )

    assert outbox.run_once() == 0
    assert rows(sql_ledger)["cb-1"]["next_attempt_at"] == T0 + timedelta(seconds=2)
    clock.advance(2)
    assert outbox.run_once() == 0
    assert rows(sql_ledger)["cb-1"]["attempts"] == 2
    assert "Server.Unavailable" in rows(sql_ledger)["cb-1"]["last_error"]
    clock.advance(4)
    assert outbox.run_once() == 1

    assert app.calls_received == 3
    assert [(c.callback_id, c.duplicate) for c in app.recorder.calls()] == [("cb-1", False)]
    clock.advance(3600)
    assert outbox.run_once() == 0 and app.calls_received == 3  # sent: never again


def test_a_crash_between_delivery_and_mark_sent_is_a_duplicate_customs_drops(sql_ledger, simulator):
    app, url = simulator
    put(sql_ledger, callback("cb-1"))
    client = CustomsCallbackClient(url, user=USER, password=PASSWORD, allow_http=True)
    clock = Clock()
    store = SqlOutboxStore(sql_ledger.engine)
    [claimed] = store.claim_due([CUSTOMS_CALLBACK], clock(), 10, timedelta(seconds=120))
    client.deliver(claimed)  # delivered... and the relay dies before mark_sent

    clock.advance(121)  # the lease ends; another relay (or the restarted one) takes it
    assert relay(sql_ledger, client, clock).run_once() == 1

    assert [(c.callback_id, c.duplicate) for c in app.recorder.calls()] == [
        ("cb-1", False),
        ("cb-1", True),
    ]
    assert rows(sql_ledger)["cb-1"]["sent_at"] == clock()


def test_a_refused_username_token_is_a_permanent_failure(sql_ledger, simulator):
    app, url = simulator
    put(sql_ledger, callback("cb-1"))
    client = CustomsCallbackClient(url, user=USER, password="wrong", allow_http=True)

    relay(sql_ledger, client, Clock()).run_once()

    row = rows(sql_ledger)["cb-1"]
    assert row["last_error"].startswith("refused: ")
    assert "Client.Authentication" in row["last_error"]
    assert row["failed_at"] == T0 and row["next_attempt_at"] is None
    assert app.recorder.calls() == []


def test_a_callback_the_customs_schema_rejects_is_a_permanent_failure(simulator):
    app, url = simulator
    client = CustomsCallbackClient(url, user=USER, password=PASSWORD, allow_http=True)
    request = submit_control_result_request(callback().body, "cb-1") | {"Decision": "MAYBE"}
    with pytest.raises(PermanentDeliveryError):
        client.submit(request)
    assert app.recorder.calls() == []


def test_a_customs_endpoint_that_never_answers_times_out_as_retryable():
    with socket.socket() as silent:  # accepts connections (backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/soap/customs-callback"
        client = CustomsCallbackClient(url, timeout=(1.0, 0.3), allow_http=True)
        with pytest.raises(RetryableDeliveryError, match="ReadTimeout"):
            client.submit(submit_control_result_request(callback().body, "cb-1"))


def test_a_closed_port_is_retryable():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = CustomsCallbackClient(
        f"http://127.0.0.1:{port}/x", timeout=(1.0, 1.0), allow_http=True
    )
    with pytest.raises(RetryableDeliveryError, match="not reachable"):
        client.submit(submit_control_result_request(callback().body, "cb-1"))


# -- against ``responses``: a remote customs endpoint's failure modes ---------------------------


@responses.activate
def test_http_500_without_a_fault_is_retried_with_backoff_and_counted(sql_ledger):
    responses.post(ENDPOINT, status=500, body=b"")
    put(sql_ledger, callback("cb-1"))
    clock = Clock()
    outbox = relay(
        sql_ledger, CustomsCallbackClient(ENDPOINT, timeout=(2.0, 7.0), allow_http=True), clock
    )

    outbox.run_once()
    clock.advance(2)
    outbox.run_once()

    row = rows(sql_ledger)["cb-1"]
    assert row["attempts"] == 2 and row["sent_at"] is None
    assert row["next_attempt_at"] == clock() + timedelta(seconds=4)
    assert "HTTP 500" in row["last_error"] and row["failed_at"] is None
    assert len(responses.calls) == 2
    assert responses.calls[0].request.req_kwargs["timeout"] == (2.0, 7.0)


@responses.activate
def test_a_read_timeout_is_retried(sql_ledger):
    responses.post(ENDPOINT, body=requests.exceptions.ReadTimeout("read timed out"))
    put(sql_ledger, callback("cb-1"))

    relay(sql_ledger, CustomsCallbackClient(ENDPOINT, allow_http=True), Clock()).run_once()

    row = rows(sql_ledger)["cb-1"]
    assert row["attempts"] == 1 and "ReadTimeout" in row["last_error"]
    assert row["next_attempt_at"] == T0 + timedelta(seconds=2)


@pytest.mark.parametrize("status", [502, 503, 504, 429])
@responses.activate
def test_gateway_errors_and_rate_limits_are_retryable(status):
    responses.post(ENDPOINT, status=status, body=b"busy", content_type="text/plain")
    with pytest.raises(RetryableDeliveryError, match=f"HTTP {status}"):
        CustomsCallbackClient(ENDPOINT, allow_http=True).deliver(_row())


@pytest.mark.parametrize("status", [400, 401, 404])
@responses.activate
def test_client_http_errors_are_permanent(status):
    responses.post(ENDPOINT, status=status, body=b"", content_type="text/plain")
    with pytest.raises(PermanentDeliveryError, match=f"HTTP {status}"):
        CustomsCallbackClient(ENDPOINT, allow_http=True).deliver(_row())


@responses.activate
def test_customs_not_accepting_the_result_is_permanent():
    responses.post(
        ENDPOINT,
        content_type="text/xml",
        body=(
            '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
            '<cb:SubmitControlResultResponse xmlns:cb="urn:cites-connector:customs-callback:1">'
            "<cb:CallbackId>cb-1</cb:CallbackId><cb:Accepted>false</cb:Accepted>"
            "<cb:Duplicate>false</cb:Duplicate><cb:Message>declaration unknown</cb:Message>"
            "</cb:SubmitControlResultResponse></soap:Body></soap:Envelope>"
        ),
    )
    with pytest.raises(PermanentDeliveryError, match="declaration unknown"):
        CustomsCallbackClient(ENDPOINT, allow_http=True).deliver(_row())


def _row() -> OutboxRow:
    message = callback("cb-1")
    return OutboxRow(
        1,
        message.message_id,
        message.channel,
        message.destination,
        message.routing_key,
        message.ordering_key,
        message.body,
        {},
        T0,
        0,
    )


# -- configuration -------------------------------------------------------------------------------


def test_without_a_customs_url_there_is_no_callback_deliverer_so_callbacks_wait():
    assert customs_deliverers(load_settings(home_country="NA", customs_url=None)) == {}
    configured = customs_deliverers(
        load_settings(
            home_country="NA",
            customs_url=ENDPOINT,
            customs_user=USER,
            customs_password=PASSWORD,
            customs_allow_http=True,
        )
    )
    assert configured[CUSTOMS_CALLBACK].url == ENDPOINT

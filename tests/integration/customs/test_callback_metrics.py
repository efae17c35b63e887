"""Issue 14: customs callback failures are counted, by kind, as ``serve`` wires the callback
(``customs_deliverers`` with the metrics): over loopback HTTP to the customs simulator, a
callback that fails once while customs is down counts one ``retryable``, and one refused for a
wrong password counts one ``refused``; a delivery that succeeds counts nothing."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from cites_connector.adapters.metrics.registry import ConnectorMetrics
from cites_connector.adapters.outbox.relay import OutboxRelay
from cites_connector.adapters.outbox.store import SqlOutboxStore
from cites_connector.app.serving import customs_deliverers
from cites_connector.app.settings import load_settings
from tests.integration.customs.customs_kit import PASSWORD, USER
from tests.integration.customs.test_customs_callback import BACKOFF, callback
from tests.integration.outbox.outbox_kit import Clock, put, rows


def failures(metrics: ConnectorMetrics) -> dict[str, float]:
    text = metrics.render().decode()
    return {
        s.labels["kind"]: s.value
        for f in text_string_to_metric_families(text)
        for s in f.samples
        if s.name == "cites_connector_callback_failures_total"
    }


def relay_to(url: str, password: str, metrics: ConnectorMetrics, ledger, clock) -> OutboxRelay:
    settings = load_settings(
        home_country="NA",
        customs_url=url,
        customs_user=USER,
        customs_password=password,
        customs_allow_http=True,
    )
    deliverers = customs_deliverers(settings, metrics)
    return OutboxRelay(SqlOutboxStore(ledger.engine), deliverers, clock=clock, backoff=BACKOFF)


def test_callback_failures_are_counted_by_kind(sql_ledger, start_simulator):
    metrics = ConnectorMetrics("1")
    clock = Clock()
    _, flaky = start_simulator(fail_first=1)
    put(sql_ledger, callback("cb-1"))
    relay = relay_to(flaky, PASSWORD, metrics, sql_ledger, clock)
    assert relay.run_once() == 0
    assert failures(metrics) == {"retryable": 1}
    clock.advance(BACKOFF.maximum)
    assert relay.run_once() == 1  # delivered: nothing more counted
    assert failures(metrics) == {"retryable": 1}

    _, strict = start_simulator()
    put(sql_ledger, callback("cb-2", "WDHA-2"))
    relay_to(strict, "wrong", metrics, sql_ledger, clock).run_once()
    assert rows(sql_ledger)["cb-2"]["last_error"].startswith("refused: ")
    assert failures(metrics) == {"retryable": 1, "refused": 1}

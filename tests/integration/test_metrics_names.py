"""Issue 14: the metrics ``serve`` exports are exactly the ones the deploy kit reads.

The registry is built as ``serve`` builds it, its scrape-time gauges reading a real migrated
SQLite ledger with an unsent outbox row, every counter used once, and rendered in Prometheus's
text format. Every metric that deploy/prometheus/alerts.yml, its unit tests and
deploy/grafana/cites-connector.json name must be among them with the labels they select on,
and the table of docs/operations.md ("Metrics") must say what is exported: names, types and
label names. ``cites_connector_audit_verify_ok`` is the one exception: the audit
verification's timer writes it to node_exporter's textfile directory, since ``audit verify``
runs in its own process and a gauge set there would die with it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import insert

from cites_connector.adapters.metrics.registry import ConnectorMetrics
from cites_connector.adapters.metrics.scrape import ConsumerCollector, LedgerCollector
from cites_connector.adapters.sql import tables as t
from cites_connector.adapters.sql.migrate import upgrade
from cites_connector.app import build_application
from cites_connector.app.settings import load_settings
from cites_connector.domain.decisions import (
    Decision,
    DeclarationDecision,
    ItemDecision,
    ItemStatus,
    Reason,
    ReasonCode,
)
from tests.deploy.test_monitoring import (
    ALERT_TESTS,
    ALERTS,
    DASHBOARD,
    TEXTFILE_SCRIPT,
    metrics_table,
)

FROM_THE_TIMER = {"cites_connector_audit_verify_ok"}
NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
SERIES = re.compile(r"\b(cites_connector_[a-z0-9_]+)(?:\{([^}]*)\})?")


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> dict[str, tuple[str, set[str]]]:
    """name (counters with _total) -> (type, label names), as /metrics shows them."""
    directory = tmp_path_factory.mktemp("metrics")
    app = build_application(load_settings(home_country="NA", data_dir=directory))
    upgrade(app.engine)
    with app.engine.begin() as c:
        c.execute(
            insert(t.outbox).values(
                message_id="m-1",
                channel="customs",
                destination="customs",
                routing_key="declaration.decided",
                body={},
                headers={},
                created_at=NOW,
                attempts=0,
            )
        )
    metrics = ConnectorMetrics("1.2.3", database="sqlite")
    metrics.add_collector(LedgerCollector(app.engine, lambda: NOW))
    metrics.add_collector(ConsumerCollector(lambda: [("permit-consumer-0", False)], lambda: 0))
    reason = Reason(ReasonCode.PERMIT_UNKNOWN, "not known")
    item = ItemDecision(1, "010620", ItemStatus.HELD, reasons=(reason,))
    metrics.decided(Decision("D-1", 1, DeclarationDecision.HELD, (item,)), "soap")
    metrics.write_off_committed(0.01)
    metrics.soap_request("CheckDeclaration", "ok", 0.02)
    metrics.permit_event("permit.issued", "applied")
    metrics.dead_lettered("permit.issued", "UNTRUSTED_PUBLISHER")
    metrics.callback_failed("retryable")
    metrics.permit_looked_up("amqp", "found", 0.1)
    text = metrics.render().decode()
    app.close()
    found: dict[str, tuple[str, set[str]]] = {}
    for family in text_string_to_metric_families(text):
        name = family.name + ("_total" if family.type == "counter" else "")
        labels = {k for s in family.samples for k in s.labels if k != "le"}
        found[name] = (family.type, labels)
    return found


def test_the_table_of_the_operations_guide_is_what_is_exported(exported):
    table = metrics_table()
    assert set(table) - FROM_THE_TIMER == set(exported)
    for name, (kind, labels) in exported.items():
        assert table[name] == (kind, labels), name


def test_the_held_and_outbox_gauges_read_the_ledger(exported):
    assert exported["cites_connector_outbox_backlog"] == ("gauge", {"lane", "state"})
    assert exported["cites_connector_held_declarations"] == ("gauge", set())


@pytest.mark.parametrize(
    "source", [ALERTS, ALERT_TESTS, DASHBOARD, TEXTFILE_SCRIPT], ids=lambda p: p.name
)
def test_every_metric_the_deploy_kit_reads_is_exported_with_its_labels(source, exported):
    text = source.read_text().replace('\\"', '"')
    used = 0
    for series, matchers in SERIES.findall(text):
        if series == "cites_connector_audit" or series.startswith("cites_connector_dashboard"):
            continue  # the textfile's name; the dashboard test's recording rules
        base = re.sub(r"_(bucket|sum|count)$", "", series)
        name = series if series in exported or series in FROM_THE_TIMER else base
        assert name in exported or name in FROM_THE_TIMER, f"{source.name}: {series}"
        used += 1
        if name in FROM_THE_TIMER:
            continue
        labels = set(re.findall(r"([a-z_]+)\s*(?:=~|!~|!=|=)", matchers))
        allowed = exported[name][1] | {"instance", "job"}
        if series.endswith("_bucket"):
            allowed |= {"le"}
        assert labels <= allowed, f"{source.name}: {series} has no label {labels - allowed}"
    assert used

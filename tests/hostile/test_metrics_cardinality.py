"""Issue 14: nothing a caller sends can grow /metrics without bound.

Each label value comes from a short fixed set: a publisher choosing routing keys, or messages
refused with sentences that quote their content, must not add a series per message (a scrape
that grows with every attack would slow Prometheus and this process alike).
"""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from cites_connector.adapters.metrics.registry import ConnectorMetrics


def series(metrics: ConnectorMetrics, name: str) -> dict[tuple[str, ...], float]:
    """label values -> value, of every sample of ``name``."""
    families = text_string_to_metric_families(metrics.render().decode())
    return {
        tuple(s.labels.values()): s.value for f in families for s in f.samples if s.name == name
    }


def test_routing_keys_chosen_by_a_publisher_add_no_series():
    metrics = ConnectorMetrics("1")
    for n in range(500):
        metrics.permit_event(f"permit.attack{n}", "applied")
        metrics.dead_lettered(f"permit.x{n}.issued", "UNTRUSTED_PUBLISHER")
    assert series(metrics, "cites_connector_permit_events_total") == {
        ("other", "applied"): 500,
        ("issued", "dead_lettered"): 500,
    }


def test_refusal_sentences_are_counted_under_one_reason():
    metrics = ConnectorMetrics("1")
    for n in range(500):
        metrics.dead_lettered("permit.issued", f"permit_number {'X' * n}: too long")
        metrics.dead_lettered("permit.issued", f"X{n}")  # not a code either: too short a word
    metrics.dead_lettered("permit.issued", "UNTRUSTED_PUBLISHER")
    assert series(metrics, "cites_connector_permit_dead_letters_total") == {
        ("INVALID_MESSAGE",): 1000,
        ("UNTRUSTED_PUBLISHER",): 1,
    }

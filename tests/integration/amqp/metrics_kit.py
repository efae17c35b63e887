"""Reading a running ``serve``'s /metrics, /readyz and /livez over HTTP, for the metrics tests."""

from __future__ import annotations

from collections import defaultdict

import requests
from prometheus_client.parser import text_string_to_metric_families

Samples = dict[str, dict[frozenset[tuple[str, str]], float]]


def scrape(url: str) -> Samples:
    """Every sample of /metrics: name -> {label set: value}."""
    response = requests.get(f"{url}/metrics", timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    samples: Samples = defaultdict(dict)
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[sample.name][frozenset(sample.labels.items())] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sample with exactly these labels, 0 when it is not there (a counter not yet used)."""
    return samples.get(name, {}).get(frozenset(labels.items()), 0.0)


def answer(url: str, path: str) -> tuple[int, dict] | None:
    try:
        response = requests.get(f"{url}{path}", timeout=10)
    except requests.ConnectionError:
        return None
    return response.status_code, response.json()

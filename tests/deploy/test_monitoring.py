"""deploy/prometheus and deploy/grafana: the rules load in Prometheus's own checker, the alert
unit tests (alerts.test.yml) fire what they should, and every metric the kit names is one of the
table in docs/operations.md ("Metrics"), the names the connector exports, with labels it has."""

from __future__ import annotations

import json
import re
import shutil

import pytest
import yaml

from tests.deploy.tools import DEPLOY, ROOT, debian_tool, run

ALERTS = DEPLOY / "prometheus" / "alerts.yml"
ALERT_TESTS = DEPLOY / "prometheus" / "alerts.test.yml"
SCRAPE = DEPLOY / "prometheus" / "prometheus.yml"
DASHBOARD = DEPLOY / "grafana" / "cites-connector.json"
TEXTFILE_SCRIPT = DEPLOY / "bin" / "cites-connector-audit-textfile"
OPERATIONS = ROOT / "docs" / "operations.md"
METRIC = re.compile(r"\bcites_connector_[a-z0-9_]+")
HISTOGRAM_SERIES = ("_bucket", "_sum", "_count")


def metrics_table() -> dict[str, tuple[str, set[str]]]:
    """name -> (type, label names), from the table under "## Metrics" in docs/operations.md."""
    text = OPERATIONS.read_text()
    section = text[text.index("\n## Metrics") :]
    section = section[: section.index("\n## ", 1)]
    table = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0].startswith("`cites_connector_"):
            labels = set(re.findall(r"`([a-z_]+)`", cells[2]))
            table[cells[0].strip("`")] = (cells[1], labels)
    assert len(table) >= 15, "the metrics table of docs/operations.md was not found"
    return table


def exported_name(series: str, table: dict) -> str | None:
    """The table's metric for a series name (a histogram's _bucket/_sum/_count included)."""
    if series in table:
        return series
    for suffix in HISTOGRAM_SERIES:
        base = series[: -len(suffix)]
        if series.endswith(suffix) and table.get(base, ("",))[0] == "histogram":
            return base
    return None


def dashboard_expressions() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    assert exprs
    return exprs


def alert_rules() -> list[dict]:
    groups = yaml.safe_load(ALERTS.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


@pytest.fixture(scope="module")
def promtool():
    return debian_tool("promtool", "prometheus")


# -- Prometheus's own checks ------------------------------------------------------------------


def test_promtool_accepts_the_alert_rules(promtool):
    checked = run([promtool, "check", "rules", str(ALERTS)])
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(alert_rules())} rules found" in checked.stdout


def test_the_alerts_fire_as_their_unit_tests_say(promtool):
    tested = run([promtool, "test", "rules", str(ALERT_TESTS)])
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "SUCCESS" in tested.stdout


def test_the_scrape_configuration_loads_with_the_rules(promtool, tmp_path):
    shutil.copy(SCRAPE, tmp_path / "prometheus.yml")
    shutil.copy(ALERTS, tmp_path / "cites-connector-alerts.yml")
    checked = run([promtool, "check", "config", str(tmp_path / "prometheus.yml")])
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_every_dashboard_query_is_valid_promql(promtool, tmp_path):
    """promtool has no query checker offline; recording rules are parsed the same way."""
    rules = [
        {
            "record": f"cites_connector_dashboard:check{i}",
            "expr": expr.replace("$__rate_interval", "5m").replace("$instance", ".*"),
        }
        for i, expr in enumerate(dashboard_expressions())
    ]
    path = tmp_path / "dashboard-queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    checked = run([promtool, "check", "rules", str(path)])
    assert checked.returncode == 0, checked.stdout + checked.stderr


# -- names and labels against the metrics table -------------------------------------------------


@pytest.mark.parametrize(
    "source", [ALERTS, ALERT_TESTS, DASHBOARD, TEXTFILE_SCRIPT], ids=lambda p: p.name
)
def test_every_metric_named_by_the_kit_is_in_the_table(source):
    table = metrics_table()
    used = set(METRIC.findall(source.read_text())) - {"cites_connector_audit"}  # the file name
    used = {u for u in used if not u.startswith("cites_connector_dashboard")}
    unknown = sorted(u for u in used if exported_name(u, table) is None)
    assert not unknown, f"{source.name} names metrics the connector does not export: {unknown}"


@pytest.mark.parametrize("source", [ALERTS, DASHBOARD], ids=lambda p: p.name)
def test_selectors_use_only_the_labels_of_their_metric(source):
    table = metrics_table()
    generic = {"instance", "job"}
    text = source.read_text().replace('\\"', '"')
    for name, matchers in re.findall(r"(cites_connector_[a-z0-9_]+)\{([^}]*)\}", text):
        metric = exported_name(name, table)
        allowed = table[metric][1] | generic | ({"le"} if name.endswith("_bucket") else set())
        labels = set(re.findall(r"([a-z_]+)\s*(?:=~|!~|!=|=)", matchers))
        assert labels <= allowed, f"{source.name}: {name} has no label {labels - allowed}"


def test_the_dashboard_shows_every_metric_of_the_table():
    table = metrics_table()
    shown = {exported_name(m, table) for e in dashboard_expressions() for m in METRIC.findall(e)}
    assert set(table) - shown == set()


def test_the_alerts_cover_what_the_kit_promises():
    watched = {
        exported_name(m, metrics_table())
        for rule in alert_rules()
        for m in METRIC.findall(rule["expr"])
    }
    assert {
        "cites_connector_outbox_backlog",
        "cites_connector_outbox_oldest_age_seconds",
        "cites_connector_outbox_lane_stuck",
        "cites_connector_permit_consumer_stuck",
        "cites_connector_dead_letter_queue_depth",
        "cites_connector_held_oldest_age_seconds",
        "cites_connector_audit_verify_ok",
        "cites_connector_soap_request_seconds",
    } <= watched
    exprs = " ".join(rule["expr"] for rule in alert_rules())
    assert 'probe_success{job="cites-connector-readyz"}' in exprs  # /readyz down
    assert 'outcome="server_fault"' in exprs  # SOAP 5xx (Server.*) rate


# -- structure, and the way back to the guide ---------------------------------------------------


def test_every_alert_has_a_severity_and_points_to_a_troubleshooting_entry():
    guide = OPERATIONS.read_text()
    entries = set(re.findall(r"^### (\d+)\. ", guide, re.M))
    assert entries == {str(n) for n in range(1, 11)}, "the guide has ten troubleshooting entries"
    names = [rule["alert"] for rule in alert_rules()]
    assert len(names) == len(set(names))
    for rule in alert_rules():
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}, rule["alert"]
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]
        cited = re.findall(r"Troubleshooting ([\d\- and]+)\.", rule["annotations"]["description"])
        assert cited, f"{rule['alert']} does not point to docs/operations.md"
        for number in re.findall(r"\d+", cited[0]):
            assert number in entries, f"{rule['alert']}: no troubleshooting entry {number}"
        assert rule["alert"] in guide, f"{rule['alert']} is not explained in the guide"


def test_the_dashboard_is_importable_json_without_overlapping_panels():
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] == "cites-connector" and dashboard["title"]
    variables = {v["name"] for v in dashboard["templating"]["list"]}
    assert {"datasource", "instance"} <= variables
    cells: set[tuple[int, int]] = set()
    ids = set()
    for panel in dashboard["panels"]:
        assert panel["id"] not in ids
        ids.add(panel["id"])
        box = panel["gridPos"]
        assert box["x"] + box["w"] <= 24
        for x in range(box["x"], box["x"] + box["w"]):
            for y in range(box["y"], box["y"] + box["h"]):
                assert (x, y) not in cells, f"{panel['title']} overlaps another panel"
                cells.add((x, y))
        if panel["type"] != "row":
            assert panel["targets"] and all(t["expr"] and t["refId"] for t in panel["targets"])
            assert panel["datasource"]["uid"] == "${datasource}"

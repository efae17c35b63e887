"""docs/operations.md stays true: the metrics table is the agreed one, every log event it tells
operators to look for is one the connector writes, every command it gives exists with its
options, and every file it names is in the repository."""

from __future__ import annotations

import re

import pytest

from tests.deploy.tools import ROOT, connector_command, connector_env, run

GUIDE = ROOT / "docs" / "operations.md"
AGREED = ROOT / "tests" / "fixtures" / "deploy" / "metrics.md"


def table_rows(text: str) -> list[str]:
    return [
        line.strip() for line in text.splitlines() if line.strip().startswith("| `cites_connector_")
    ]


def test_the_metrics_table_is_the_agreed_one():
    agreed = table_rows(AGREED.read_text())
    assert len(agreed) == 17
    assert table_rows(GUIDE.read_text()) == agreed


def source_text() -> str:
    """Every Python file of the product (not the tests): where log events are written."""
    return "\n".join(
        p.read_text()
        for p in ROOT.rglob("*.py")
        if not {"tests", ".venv", "bench"} & set(p.relative_to(ROOT).parts)
    )


def test_every_log_event_of_the_guide_is_written_by_the_connector():
    guide = GUIDE.read_text()
    events = set(
        re.findall(
            r"`((?:serve|soap|healthz|amqp|permit|outbox|audit|declaration|"
            r"wss|ledger)\.[a-z_]+)`",
            guide,
        )
    )
    assert len(events) >= 25
    code = source_text()
    missing = sorted(e for e in events if f'"{e}"' not in code)
    assert not missing, f"events the connector never logs: {missing}"


def test_every_fault_code_of_the_guide_exists():
    code = source_text()
    for fault in set(re.findall(r"`((?:Client|Server)\.[A-Za-z]+)`", GUIDE.read_text())):
        assert f'"{fault}"' in code, fault


def commands() -> list[list[str]]:
    """`cites-connector ...` in the guide's code spans and blocks, outside "planned" notes."""
    found = []
    for line in GUIDE.read_text().splitlines():
        if line.lstrip().startswith(">"):
            continue  # a planned feature, said to be missing
        # the command itself: at a line's or code span's start, or by its installed path
        for match in re.finditer(r"(?:^\s*|`|venv/bin/)cites-connector ([a-z][^`#|]*)", line):
            words = []
            for word in match.group(1).split():
                if re.fullmatch(r"[a-z][a-z-]*|--[a-z-]+|[A-Z_]+", word):
                    words.append(word)
                else:
                    break
            if words:
                found.append(words)
    return found


def test_every_command_of_the_guide_exists_with_its_options():
    seen = commands()
    assert len(seen) >= 10
    env = connector_env()
    checked = set()
    for words in seen:
        path = [w for w in words if not w.startswith("-") and not w.isupper()]
        options = [w for w in words if w.startswith("--")]
        key = (tuple(path), tuple(options))
        if key in checked:
            continue
        checked.add(key)
        while path:  # the longest prefix that is a command ("permits show NUMBER" -> show)
            shown = run([connector_command(), *path, "--help"], env)
            if shown.returncode == 0:
                break
            path = path[:-1]
        assert path, f"cites-connector {' '.join(words)}: no such command"
        for option in options:
            assert option in shown.stdout, f"cites-connector {' '.join(path)} has no {option}"


def test_the_migrate_sql_flag_is_described_as_planned_until_it_exists():
    helped = run([connector_command(), "migrate", "--help"], connector_env())
    guide = GUIDE.read_text()
    if "--sql" not in helped.stdout:
        assert re.search(r"> \*\*Planned: `cites-connector migrate --sql`\.\*\*", guide)


@pytest.mark.parametrize(
    "document", [GUIDE, ROOT / "deploy" / "rabbitmq" / "README.md"], ids=lambda p: p.name
)
def test_every_file_named_is_in_the_repository_and_nothing_points_outside(document):
    text = document.read_text()
    for name in set(re.findall(r"`((?:deploy|docs|config|examples|tests|scripts)/[^`\s]+)`", text)):
        name = name.rstrip(".,")
        if "{" in name:  # deploy/systemd/cites-connector-audit-verify.{service,timer}
            stem, alternatives = name.split("{")
            names = [stem + alt for alt in alternatives.rstrip("}").split(",")]
        else:
            names = [name]
        for one in names:
            assert (ROOT / one).exists() or (ROOT / "deploy" / "prometheus" / one).exists(), one
    assert "/work/" not in text and "shared/" not in text
    assert "docs/reverse-proxy.md" in GUIDE.read_text()

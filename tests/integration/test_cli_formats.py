"""``--format table|json|csv`` on every listing verb, and help texts free of markup (issue 14).

In-process (click's runner) on a real, migrated SQLite ledger (the shared ``run`` fixture):
each format is read back the way a person or a script would (the JSON parsed, the CSV by the
csv module, the table's cells split on its rule), so a verb that prints something else fails.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from cites_connector.cli.actor import os_account
from cites_connector.cli.main import cli
from tests.samples import write_samples

CORRELATION = (
    Path(__file__).parent.parent
    / "fixtures"
    / "hs"
    / "correlation-HS2022-HS2027.MADE-FOR-TESTS.csv"
)
#: every verb that lists records; each takes --format (and --json, its shorthand)
LISTING_VERBS = {
    "audit show",
    "audit verify",
    "declarants list",
    "declarations cancel",
    "declarations check",
    "declarations clear",
    "declarations show",
    "dlq list",
    "hs convert",
    "hs impact",
    "hs list",
    "hs lookup",
    "hs show",
    "outbox status",
    "permits show",
    "quotas list",
    "simulate-customs calls",
    "simulate-customs send",
    "simulate-epix calls",
    "suspensions list",
    "users list",
}
#: what must not leak into --help: reST literals, rich markup, click's \b, Markdown bold
ARTEFACTS = ("`", "[bold", "[/", "[red", "\\b", "\b", "**", ":func:", ":class:", "\x1b")


def commands(group: click.Group = cli, path: tuple[str, ...] = ()):
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            yield from commands(command, (*path, name))
        else:
            yield (*path, name), command


def test_every_help_renders_without_markup_artefacts():
    groups = [()] + [path[:n] for path, _ in commands() for n in range(1, len(path))]
    for path in sorted(set(groups)) + [path for path, _ in commands()]:
        result = CliRunner().invoke(cli, [*path, "--help"])
        assert result.exit_code == 0 and "Usage:" in result.output, path
        leaked = [a for a in ARTEFACTS if a in result.output]
        assert not leaked, f"{' '.join(path)} --help shows {leaked}:\n{result.output}"


def test_every_listing_verb_and_only_those_offer_the_three_formats():
    with_format = set()
    for path, command in commands():
        options = {p.name: p for p in command.params}
        if "fmt" in options:
            with_format.add(" ".join(path))
            assert isinstance(options["fmt"].type, click.Choice)
            assert list(options["fmt"].type.choices) == ["table", "json", "csv"], path
            assert "as_json" in options, path
        assert not ("as_json" in options and "fmt" not in options), path
    assert with_format == LISTING_VERBS


def formats(run, *args: str, code: int = 0):
    """The verb's output as JSON (parsed), CSV (rows as dicts) and table text."""
    shown = {}
    for fmt in ("json", "csv", "table"):
        result = run(*args, "--format", fmt)
        assert result.exit_code == code, (args, fmt, result.output)
        shown[fmt] = result.stdout
    return (
        json.loads(shown["json"]),
        list(csv.DictReader(io.StringIO(shown["csv"]))),
        shown["table"],
    )


def cells(table: str, first: str) -> list[str]:
    """The cells of the table row whose first cell is ``first``."""
    for line in table.splitlines():
        values = [v.strip() for v in line.split("|")]
        if values[0] == first:
            return values
    raise AssertionError(f"no row {first!r} in\n{table}")


@pytest.fixture
def ledger(run, tmp_path, monkeypatch):
    """Two permits, the sample declaration cleared, a quota in KIL, a suspension whose
    notification reads like rich markup, one console user."""
    monkeypatch.setenv("CONNECTOR_HS_ROLES", json.dumps({os_account(): "approver"}))
    permits, sample = write_samples(tmp_path / "samples")
    assert run("permits", "import", str(permits)).exit_code == 0
    assert run("declarations", "clear", str(sample), "--id", "WDHA-1042").exit_code == 0
    quota = (
        "--taxon",
        "Loxodonta africana",
        "--year",
        "2026",
        "--quantity",
        "12.50",
        "--unit",
        "KIL",
    )
    assert run("quotas", "set", *quota, "--reason", "r").exit_code == 0
    suspension = ("--country", "GN", "--flow", "export", "--starts-on", "2018-02-14")
    notification = ("--notification", "[bold]Notif. 2018/018[/bold]", "--reason", "r")
    assert run("suspensions", "add", *suspension, *notification).exit_code == 0
    added = CliRunner().invoke(
        cli,
        ["users", "add", "ana", "--role", "admin", "--password-stdin"],
        input="pw-ana-12345678\n",
    )
    assert added.exit_code == 0, added.output
    return run, sample


def test_a_permit_and_a_decision_in_each_format_with_units_written_one_way(ledger):
    run, sample = ledger
    data, rows, table = formats(run, "permits", "show", "26NA000131")
    assert data["lines"][0]["remaining"] == "38" and data["lines"][0]["unit"] == "KIL"
    assert [(r["record"], r["quantity"], r["unit"]) for r in rows] == [
        ("line", "50", "KIL"),
        ("usage", "12", "KIL"),
    ]
    assert rows[0]["remaining"] == "38" and rows[1]["declaration_id"] == "WDHA-1042"
    assert cells(table, "A")[3:5] == ["50 KIL", "38 KIL"]

    data, rows, table = formats(run, "declarations", "show", "WDHA-1042")
    assert data["decision"] == "CLEARED" and data["state"] == "CLEARED"
    items = [r for r in rows if r["record"] == "item"]
    assert [(r["item_number"], r["status"], r["quantity"], r["unit"]) for r in items] == [
        ("1", "MATCHED", "40", ""),
        ("2", "MATCHED", "12", "KIL"),
        ("3", "NOT_CONCERNED", "", ""),
    ]
    assert cells(table, "1")[4:6] == ["40 specimens", "0 specimens"]
    assert cells(table, "2")[3:6] == ["26NA000131 (NA) line A", "12 KIL", "38 KIL"]

    # the permits are written off already: checking again holds it (exit 1), in every format
    held, rows, table = formats(run, "declarations", "check", str(sample), "--id", "X", code=1)
    assert held["decision"] == "HELD" and held["written"] is False
    assert {r["record"] for r in rows} == {"item", "reason"}
    assert "(check only: nothing was written off)" in table

    data, rows, table = formats(run, "declarations", "cancel", "WDHA-1042")
    assert {r["permit_number"]: r["remaining_after"] for r in data["restored"]} == {
        "26NA000123": "40",
        "26NA000131": "50",
    }
    # cancelled once: the JSON and CSV runs found nothing more to give back
    assert rows == [] and "0 write-off(s) given back" in table


def test_trade_controls_users_and_audit_in_each_format(ledger):
    run, _ = ledger
    data, rows, table = formats(run, "quotas", "list")
    [quota] = data["quotas"]
    assert (quota["quantity"], quota["left"], quota["unit"]) == ("12.5", "12.5", "KIL")
    assert [(r["record"], r["taxon"], r["quantity"], r["unit"]) for r in rows] == [
        ("quota", "Loxodonta africana", "12.5", "KIL")
    ]
    assert cells(table, "2026")[3:6] == ["12.5 KIL", "0 KIL", "12.5 KIL"]

    data, rows, table = formats(run, "suspensions", "list")
    [suspension] = data["suspensions"]
    assert suspension["notification"] == "[bold]Notif. 2018/018[/bold]"
    assert rows[0]["notification"] == "[bold]Notif. 2018/018[/bold]"
    assert cells(table, "1")[1] == "GN"
    assert "[bold]Notif. 2018/018[/bold]" in table  # data is never read as markup

    data, rows, table = formats(run, "users", "list")
    assert data == [
        {
            "name": "ana",
            "roles": ["admin"],
            "declarant_codes": [],
            "disabled": False,
            "locked_until": None,
        }
    ]
    assert (rows[0]["name"], rows[0]["roles"], rows[0]["disabled"]) == ("ana", "admin", "false")
    assert cells(table, "ana")[1:] == ["admin", "", "active"]

    data, rows, table = formats(run, "audit", "show")
    assert {"quota.set", "suspension.add"} <= {r["action"] for r in data}
    assert [r["action"] for r in rows] == [r["action"] for r in data]
    assert "suspension.add" in table

    data, rows, table = formats(run, "audit", "verify", "--no-seal")
    assert data["ok"] is True
    assert {r["chain"]: r["ok"] for r in rows} == {"administration": "true", "ledger": "true"}
    assert "administration chain: intact" in table


def test_hs_tables_in_each_format(ledger):
    run, _ = ledger
    data, rows, table = formats(run, "hs", "list")
    assert [v["version"] for v in data["versions"]] == ["HS2022/1"]
    assert [(r["record"], r["version"]) for r in rows] == [("version", "HS2022/1")]
    assert cells(table, "HS2022/1")[1:4] == ["IN FORCE", "2022-01-01", "open"]

    data, rows, table = formats(
        run, "hs", "show", "HS2022/1", "--taxon", "Pythonidae", "--prefix", "0106"
    )
    assert [(r["hs_prefix"], r["terms"]) for r in data["rows"]] == [("010620", ["LIV"])]
    assert [(r["hs_prefix"], r["taxon"], r["terms"]) for r in rows] == [
        ("010620", "Pythonidae", "LIV")
    ]
    assert cells(table, "010620")[1:3] == ["Pythonidae", "LIV"]

    data, rows, table = formats(run, "hs", "lookup", "0106200000")
    assert data["cites_goods"] is True and "Pythonidae" in [r["taxon"] for r in rows]
    assert "longest matching prefix 010620" in table

    assert run("hs", "draft", "new", "--edition", "HS2022", "--reason", "w").exit_code == 0
    removed = run("hs", "draft", "remove", "D1", "010620", "--taxon", "Pythonidae", "--reason", "w")
    assert removed.exit_code == 0, removed.output
    data, rows, table = formats(run, "hs", "impact", "D1")
    assert [(d["declaration_id"], d["decision_after"]) for d in data["declarations"]] == [
        ("WDHA-1042", "HELD")
    ]
    assert ("declaration", "WDHA-1042", "HELD") in [
        (r["kind"], r["declaration_id"], r["after"]) for r in rows
    ]
    item, declaration = (ln for ln in table.splitlines() if ln.startswith("WDHA-1042"))
    assert [v.strip() for v in item.split("|")][3] == "TAXA_CHANGED"
    assert [v.strip() for v in declaration.split("|")][4:] == ["CLEARED", "HELD"]

    converted = ("--from", "HS2022", "--to", "HS2027", "--correlation", str(CORRELATION))
    data, rows, table = formats(run, "hs", "convert", *converted, "--reason", "HS 2027")
    split = {"old": "030281", "kind": "split", "new": ["030286", "030287"], "rows": 8}
    assert split in data["codes"]
    assert {"old": "030281", "kind": "split", "new": "030286 030287", "rows": "8"} in rows
    assert cells(table, "030281")[1:3] == ["split", "030286 030287"]


def test_the_json_shorthand_is_the_json_format(ledger):
    run, _ = ledger
    assert (
        run("quotas", "list", "--json").stdout == run("quotas", "list", "--format", "json").stdout
    )
    refused = run("quotas", "list", "--format", "xml")
    assert refused.exit_code == 2 and "'xml' is not one of" in refused.output

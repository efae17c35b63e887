"""The shared CLI formatter (cli/output.py) on a real terminal (a pseudo-terminal) and off one."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Iterator
from decimal import Decimal

import pytest

from cites_connector.cli.output import Column, Listing, Qty, cell, progress, render_table

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
LONG = "refused: " + " ".join(f"word{n}" for n in range(120))
LISTING = Listing(
    "row",
    (Column("name", "Name"), Column("note", "Note")),
    [{"name": "[bold]x[/bold]", "note": LONG}, {"name": "[red]y", "note": None}],
)


@pytest.fixture
def terminal(monkeypatch) -> Iterator[Callable[[], int]]:
    """Call it in the test (pytest's capture puts its own streams back after the setup): stdout
    and stderr on a pseudo-terminal 60 columns wide; returns the reading end."""
    leader, follower = os.openpty()
    stream = os.fdopen(follower, "w", encoding="utf-8", closefd=True)
    monkeypatch.setenv("COLUMNS", "60")
    monkeypatch.delenv("NO_COLOR", raising=False)

    def attach() -> int:
        monkeypatch.setattr(sys, "stdout", stream)
        monkeypatch.setattr(sys, "stderr", stream)
        return leader

    yield attach
    monkeypatch.undo()
    stream.close()
    os.close(leader)


def read_all(fd: int) -> str:
    os.set_blocking(fd, False)
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except (BlockingIOError, OSError):
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode("utf-8", "replace")


def test_off_a_terminal_a_table_is_plain_and_no_cell_is_cut_or_read_as_markup():
    text = render_table(LISTING)
    assert "\x1b" not in text
    rows = [line.split("|") for line in text.splitlines()]
    assert [c.strip() for c in rows[2]] == ["[bold]x[/bold]", LONG]
    assert [c.strip() for c in rows[3]] == ["[red]y", ""]


def test_on_a_terminal_long_cells_fold_to_its_width_whole_and_markup_stays_text(terminal):
    terminal()
    text = ANSI.sub("", render_table(LISTING))
    assert max(len(line) for line in text.splitlines()) <= 60
    assert "[bold]x[/bold]" in text and "[red]y" in text
    words = " ".join(text.split())
    assert all(f"word{n}" in words for n in range(120))


def test_quantities_read_one_way_and_csv_keeps_the_number_alone():
    assert cell(Qty(Decimal("12.50"), "KIL")) == "12.5 KIL"
    assert cell(Qty(Decimal("3"), None)) == "3 specimens"
    assert cell(Qty(Decimal("12.50"), "KIL"), for_csv=True) == "12.5"
    assert cell(True) == "yes" and cell(True, for_csv=True) == "true"


def test_progress_draws_on_a_terminal_only(terminal):
    leader = terminal()
    with progress("Deciding again") as step:
        for n in range(3):
            step(n + 1, 3)
    assert "Deciding again" in read_all(leader)


def test_progress_is_silent_off_a_terminal(capfd):
    with progress("Deciding again") as step:
        step(1, 2)
    captured = capfd.readouterr()
    assert captured.err == "" and captured.out == ""

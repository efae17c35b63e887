"""Declarations for staff (search, page, timeline, held queue) and the broker's own view."""

from __future__ import annotations

import pytest

UNKNOWN_PERMIT = {"26NA000123": "26NA000999"}


def test_search_by_id_broker_decision_and_date(console):
    console.clear("export-sample.xml", "D-CLEAR")
    console.clear("export-sample.xml", "D-HELD", replace=UNKNOWN_PERMIT)
    console.clear("export-sample.xml", "D-OTHER", replace={"BRK-0917": "BRK-0001"})
    client = console.client("vic")

    def ids(query: str) -> list[str]:
        html = client.get(f"/declarations/?{query}").get_data(as_text=True)
        return [d for d in ("D-CLEAR", "D-HELD", "D-OTHER") if f">{d}</a>" in html]

    assert ids("") == ["D-CLEAR", "D-HELD", "D-OTHER"]
    assert ids("id=D-HELD") == ["D-HELD"]
    assert ids("decision=CLEARED") == ["D-CLEAR"]
    # D-OTHER is held too: the SINGLE permit was used by D-CLEAR
    assert ids("decision=HELD") == ["D-HELD", "D-OTHER"]
    assert ids("broker=BRK-0001") == ["D-OTHER"]
    assert ids("date_from=2026-11-28&date_to=2026-11-28") == ["D-CLEAR", "D-HELD", "D-OTHER"]
    assert ids("date_from=2026-11-29") == []


def test_a_bad_search_value_is_a_clear_400(console):
    client = console.client("vic")
    assert client.get("/declarations/?date_from=yesterday").status_code == 400
    assert client.get("/declarations/?decision=MAYBE").status_code == 400


def test_the_list_is_paginated(console):
    for n in range(55):
        console.clear("export-sample.xml", f"P-{n:03d}", replace={"26NA000123": "26NA000999"})
    client = console.client("vic")
    first = client.get("/declarations/").get_data(as_text=True)
    second = client.get("/declarations/?page=2").get_data(as_text=True)
    assert first.count('href="/declarations/P-') == 50 and "Older" in first
    assert second.count('href="/declarations/P-') == 5 and "Newer" in second


def test_a_declaration_page_shows_items_hs_rows_permit_lines_write_offs_and_reasons(console):
    console.clear("export-sample.xml", "D-1")
    html = console.client("otto").get("/declarations/D-1").get_data(as_text=True)
    assert "CLEARED" in html
    assert "<code>010620</code>" in html  # the HS row that made item 1 a CITES item
    assert 'href="/permits/26NA000123/NA">26NA000123</a> (NA) line A' in html
    assert "40 specimens" in html and "12 KIL" in html and "38 KIL" in html
    assert "declaration.decided" in html  # the timeline


def test_a_held_declaration_shows_its_reasons_in_plain_words(console):
    console.clear("export-sample.xml", "D-2", replace=UNKNOWN_PERMIT)
    html = console.client("otto").get("/declarations/D-2").get_data(as_text=True)
    assert "HELD" in html and "PERMIT_UNKNOWN" in html
    assert "26NA000999" in html


def test_an_unknown_declaration_is_404(console):
    assert console.client("otto").get("/declarations/NOPE").status_code == 404


def test_held_queue_lists_waiting_time_and_what_it_waits_for(console):
    console.clear("export-sample.xml", "D-2", replace=UNKNOWN_PERMIT)
    console.clock.advance(hours=3, minutes=5)
    html = console.client("otto").get("/declarations/held").get_data(as_text=True)
    assert "D-2" in html and "3 h 5 min" in html
    assert "PERMIT_UNKNOWN" in html and "26NA000999" in html


def test_the_timeline_shows_amendment_cancellation_and_notifications(console):
    console.clear("export-sample.xml", "D-3")
    console.clear("export-sample.xml", "D-3", version=2)
    console.app.clearance.cancel("D-3", "withdrawn by the trader", actor="customs")
    html = console.client("otto").get("/declarations/D-3").get_data(as_text=True)
    for what in (
        "declaration.decided",
        "declaration.amended",
        "declaration.cancelled",
        "message.amqp",
    ):
        assert what in html, what


# -- brokers ----------------------------------------------------------------------------------


def test_a_broker_sees_only_its_own_declarations(console):
    console.clear("export-sample.xml", "MINE")  # BRK-0917: bert's
    console.clear("export-sample.xml", "THEIRS", replace={"BRK-0917": "BRK-0001"})
    bert = console.client("bert")
    listing = bert.get("/my/declarations").get_data(as_text=True)
    assert "MINE" in listing and "THEIRS" not in listing
    assert bert.get("/my/declarations/MINE").status_code == 200
    assert bert.get("/my/declarations/THEIRS").status_code == 404
    assert bert.get("/my/declarations/NOPE").status_code == 404


def test_a_broker_sees_reasons_and_what_to_do_next(console):
    console.clear("export-sample.xml", "MINE", replace=UNKNOWN_PERMIT)
    html = console.client("bert").get("/my/declarations/MINE").get_data(as_text=True)
    assert "HELD" in html and "What to do next" in html
    assert "released automatically" in html  # PERMIT_UNKNOWN's next step


@pytest.mark.parametrize(
    "url",
    [
        "/declarations/",
        "/declarations/MINE",
        "/declarations/held",
        "/permits/",
        "/hs/",
        "/operations/",
        "/operations/dashboard",
        "/paper/",
        "/trade/",
    ],
)
def test_a_broker_gets_403_on_every_staff_page(console, url):
    console.clear("export-sample.xml", "MINE")
    assert console.client("bert").get(url).status_code == 403


def test_staff_do_not_use_the_broker_pages(console):
    assert console.client("otto").get("/my/declarations").status_code == 403

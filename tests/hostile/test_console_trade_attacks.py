"""Attacks on the console's suspensions and quotas pages: script in what is stored, the
proposer approving from another session or as an administrator, values the tables cannot
hold, an oversized upload, digits that are not ASCII."""

from __future__ import annotations

import io

import pytest

from tests.console.conftest import make_console, post
from tests.console.test_trade import ELEPHANT, QUOTA, SUSPENSION, propose, service


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    root = tmp_path_factory.mktemp("console-trade-hostile")
    make_console(root).app.close()
    return root / "var"


@pytest.fixture
def console(tmp_path, template):
    made = make_console(tmp_path, template=template)
    yield made
    made.app.close()


SCRIPT = "<script>alert(1)</script><img src=x onerror=alert(2)>"


def test_script_in_a_suspension_and_an_upload_name_is_shown_as_text(console):
    rita = console.client("rita")
    added = post(
        rita,
        "/trade/edit/suspension",
        {**SUSPENSION, "notification": f"2018/018 {SCRIPT}", "notes": SCRIPT},
        page="/trade/",
    )
    assert added.status_code == 302
    data = {"taxon": "Loxodonta africana", "reason": SCRIPT}
    data["file"] = (io.BytesIO(ELEPHANT.read_bytes()), f"{SCRIPT}.json")
    assert post(rita, "/trade/edit/import/suspensions", data, page="/trade/").status_code == 302
    for url in ("/trade/", "/trade/imports/suspensions/1"):
        html = console.client("vic").get(url).get_data(as_text=True)
        assert "<script>alert" not in html and "<img src=x" not in html, url
    assert "&lt;script&gt;alert(1)" in console.client("vic").get("/trade/").get_data(as_text=True)
    [proposal] = service(console).proposals("suspensions")
    assert "<" not in proposal.source and proposal.source.endswith(tuple("0123456789abcdef"))


def test_the_proposer_cannot_approve_from_a_second_session(console):
    assert propose(console, who="rita").status_code == 302
    second = console.client()
    assert console.login(second, "rita").status_code == 302
    refused = post(
        second, "/trade/edit/import/suspensions/1/approve", {"reason": "me"}, page="/trade/"
    )
    assert refused.status_code == 403
    assert service(console).suspensions() == []


def test_an_administrator_who_proposed_cannot_approve_either(console):
    assert propose(console, who="ada").status_code == 302
    refused = post(
        console.client("ada"),
        "/trade/edit/import/suspensions/1/approve",
        {"reason": "I am admin"},
        page="/trade/",
    )
    assert refused.status_code == 403 and "four eyes" in refused.get_data(as_text=True)
    assert service(console).suspensions() == []


@pytest.mark.parametrize(
    ("url", "form"),
    [
        ("/trade/edit/suspension", {**SUSPENSION, "notification": "N" * 201}),
        ("/trade/edit/quota", {**QUOTA, "term": "T" * 9}),
        ("/trade/edit/quota", {**QUOTA, "year": "²⁰²⁶"}),
        ("/trade/edit/quota", {**QUOTA, "quantity": "NaN"}),
        ("/trade/edit/quota", {**QUOTA, "quantity": "1e40"}),
    ],
)
def test_a_value_the_tables_cannot_hold_is_refused_not_a_server_error(console, url, form):
    response = post(console.client("rita"), url, form, page="/trade/")
    assert response.status_code == 422
    assert service(console).suspensions() == [] and service(console).quotas() == []


def test_a_year_of_other_digits_in_the_address_is_ignored(console):
    assert console.client("vic").get("/trade/?year=²²²²").status_code == 200


def test_an_oversized_upload_is_refused_before_it_is_read(console):
    data = {"taxon": "Loxodonta africana", "reason": "big"}
    data["file"] = (io.BytesIO(b" " * (6 * 1024 * 1024)), "big.json")
    response = post(console.client("rita"), "/trade/edit/import/suspensions", data, page="/trade/")
    assert response.status_code == 413
    assert service(console).proposals("suspensions") == []

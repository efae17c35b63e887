"""Trade suspensions and export quotas in the console: through the service the CLI uses, as
the console user, audited; four eyes on Species+ imports; roles and CSRF on every action."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from tests.console.conftest import post

ROOT = Path(__file__).resolve().parents[2]
ELEPHANT = ROOT / "tests" / "fixtures" / "speciesplus" / "real"
ELEPHANT = ELEPHANT / "taxon_concepts_4521_cites_legislation.json"
NOT_SPECIES_PLUS = ROOT / "tests" / "fixtures" / "permits" / "26NA000123-python-regius-export.json"

SUSPENSION = {
    "country": "gn",
    "flow": "EXPORT",
    "taxon": "Pterocarpus erinaceus",
    "sources": "W",
    "purposes": "T",
    "starts_on": "2018-02-14",
    "ends_on": "",
    "notification": "CITES Notif. No. 2018/018",
    "notes": "Review of Significant Trade",
    "reason": "RST recommendation",
}
QUOTA = {
    "taxon": "Python regius",
    "year": "2026",
    "quantity": "100",
    "unit": "",
    "term": "LIV",
    "reason": "2026 quota published",
}


def service(console):
    """The service itself, as the CLI builds it (no roles: reading only)."""
    from cites_connector.services.trade_imports import TradeImports

    app = console.app
    return TradeImports(
        app.ledger,
        roles={},
        taxonomy=app.rulebook.taxonomy,
        home_country="NA",
        clock=app.clock,
    )


def trade_audit(console):
    """The administration chain's records of suspensions, quotas and their imports."""
    return [
        r
        for r in console.backend.latest_audit(200)
        if r.chain == "administration" and r.action.startswith(("suspension", "quota"))
    ]


def add_suspension(console, who="rita", **changes):
    return post(
        console.client(who), "/trade/edit/suspension", {**SUSPENSION, **changes}, page="/trade/"
    )


def set_quota(console, who="rita", **changes):
    return post(console.client(who), "/trade/edit/quota", {**QUOTA, **changes}, page="/trade/")


def propose(console, kind="suspensions", who="rita", path=ELEPHANT, **fields):
    data = {"taxon": "Loxodonta africana", "reason": "Species+ 2022-11-27", **fields}
    data["file"] = (io.BytesIO(path.read_bytes()), path.name)
    return post(console.client(who), f"/trade/edit/import/{kind}", data, page="/trade/")


def review(console, who, step, kind="suspensions", number=1, reason="checked"):
    url = f"/trade/edit/import/{kind}/{number}/{step}"
    return post(console.client(who), url, {"reason": reason}, page="/trade/")


# -- reading ------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["ada", "rita", "otto", "vic"])
def test_every_staff_role_reads_the_page(console, who):
    response = console.client(who).get("/trade/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Suspensions" in html and "Export quotas of NA" in html
    assert ("Add the suspension" in html) == (who in ("ada", "rita"))


def test_a_broker_gets_403_on_the_trade_pages(console):
    propose(console)
    bert = console.client("bert")
    assert bert.get("/trade/").status_code == 403
    assert bert.get("/trade/imports/suspensions/1").status_code == 403


# -- suspensions --------------------------------------------------------------------------------


def test_a_reviewer_adds_a_suspension_through_the_service_audited_as_the_console_user(console):
    response = add_suspension(console)
    assert response.status_code == 302, response.get_data(as_text=True)
    [stored] = service(console).suspensions()
    assert (stored.country, stored.taxon, stored.sources, stored.purposes) == (
        "GN",
        "Pterocarpus erinaceus",
        frozenset("W"),
        frozenset("T"),
    )
    assert stored.reference == "CITES Notif. No. 2018/018" and stored.ends_on is None
    html = console.client("otto").get("/trade/").get_data(as_text=True)
    assert "Pterocarpus erinaceus" in html and "IN_FORCE" in html and "2018/018" in html
    [record] = trade_audit(console)
    assert (record.actor, record.action, record.subject) == (
        "console:rita",
        "suspension.add",
        f"suspension/{stored.id}",
    )
    assert record.reason == "RST recommendation"


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ({"country": "GIN"}, "not an ISO 3166-1 alpha-2 code"),
        ({"sources": "K"}, "not a CITES code"),
        ({"purposes": "W"}, "not a CITES code"),
        ({"taxon": "Pterocarpus inventus"}, "unknown to the connector"),
        ({"ends_on": "2018-01-01"}, "before it starts"),
        ({"starts_on": "14/02/2018"}, "is not a date"),
        ({"starts_on": ""}, "give the first day"),
        ({"flow": "SIDEWAYS"}, "not EXPORT, RE_EXPORT, IMPORT or ALL"),
        ({"notification": " "}, "notification reference"),
        ({"reason": ""}, "give the reason"),
    ],
)
def test_a_suspension_that_could_not_apply_is_refused_with_the_form_kept(console, change, said):
    response = add_suspension(console, **change)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Refused, nothing changed" in html and said in html
    assert 'value="Review of Significant Trade"' in html  # what was typed is still there
    assert service(console).suspensions(removed=True) == []
    assert trade_audit(console) == []


def test_a_suspension_is_removed_with_a_reason_and_stays_listed_as_removed(console):
    add_suspension(console)
    [stored] = service(console).suspensions()
    url = f"/trade/edit/suspension/{stored.id}/remove"
    no_reason = post(console.client("ada"), url, {"reason": ""}, page="/trade/")
    assert no_reason.status_code == 302
    assert len(service(console).suspensions()) == 1
    removed = post(console.client("ada"), url, {"reason": "withdrawn"}, page="/trade/")
    assert removed.status_code == 302
    assert service(console).suspensions() == []
    shown = console.client("vic").get("/trade/?removed=1").get_data(as_text=True)
    assert "Pterocarpus erinaceus" in shown and "REMOVED" in shown
    assert "Pterocarpus erinaceus" not in console.client("vic").get("/trade/").get_data(
        as_text=True
    )
    again = post(console.client("ada"), url, {"reason": "twice"}, page="/trade/")
    assert again.status_code == 302
    follow = console.client("ada").get("/trade/").get_data(as_text=True)
    assert f"no suspension {stored.id} in force to remove" in follow
    assert [r.action for r in trade_audit(console)] == ["suspension.remove", "suspension.add"]
    assert trade_audit(console)[0].actor == "console:ada"


# -- quotas -------------------------------------------------------------------------------------


def test_a_quota_is_set_and_shows_what_the_years_clearances_used(console):
    assert set_quota(console).status_code == 302
    console.clear("export-sample.xml", "D-Q1")  # item 1: 40 live Python regius exported
    [quota] = service(console).quotas(2026)
    assert (quota.quantity, quota.used, quota.left) == (100, 40, 60)
    html = console.client("otto").get("/trade/?year=2026").get_data(as_text=True)
    assert "<td>100 specimens</td><td>40 specimens</td><td>60 specimens" in html

    assert set_quota(console, who="ada", quantity="90", reason="halved").status_code == 302
    [again] = service(console).quotas(2026)
    assert (again.quantity, again.used) == (90, 40)  # what the year used is kept
    assert [(r.actor, r.action) for r in trade_audit(console)] == [
        ("console:ada", "quota.set"),
        ("console:rita", "quota.set"),
    ]
    assert (
        console.client("vic").get("/trade/?year=2025").get_data(as_text=True).count("Python regius")
        == 0
    )


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ({"quantity": "lots"}, "is not a number"),
        ({"quantity": "-1"}, "must be from 0"),
        ({"year": "26"}, "not a calendar year"),
        ({"year": "next"}, "not a calendar year"),
        ({"unit": "BARRELS"}, "quota unit"),
        ({"term": "TUSKS AND MORE"}, "not a CITES term code"),
        ({"taxon": "Python inventus"}, "unknown to the connector"),
        ({"reason": " "}, "give the reason"),
    ],
)
def test_a_quota_that_could_not_apply_is_refused_and_nothing_changes(console, change, said):
    response = set_quota(console, **change)
    assert response.status_code == 422
    assert said in response.get_data(as_text=True)
    assert service(console).quotas() == [] and trade_audit(console) == []


# -- Species+ imports: four eyes ----------------------------------------------------------------


def test_an_import_proposed_by_one_reviewer_applies_only_when_another_approves(console):
    proposed = propose(console)
    assert proposed.status_code == 302
    assert proposed.headers["Location"].endswith("/trade/imports/suspensions/1")
    page = console.client("rob").get("/trade/imports/suspensions/1").get_data(as_text=True)
    assert "13 entries" in page and "console:rita" in page and "Approve and apply" in page
    assert "sha256:" in page
    assert service(console).suspensions() == []  # nothing applies yet

    for step in ("approve", "reject"):
        own = review(console, "rita", step)
        assert own.status_code == 403 and "four eyes" in own.get_data(as_text=True)
    assert service(console).suspensions() == []
    [waiting] = service(console).proposals("suspensions")
    assert waiting.status.value == "PROPOSED"

    approved = review(console, "rob", "approve")
    assert approved.status_code == 302
    assert len(service(console).suspensions()) > 0
    [done] = service(console).proposals("suspensions")
    assert (done.status.value, done.decided_by) == ("APPROVED", "console:rob")
    records = [(r.actor, r.action) for r in trade_audit(console)]
    assert records == [
        ("console:rob", "suspensions.approve"),
        ("console:rita", "suspensions.propose"),
    ]
    assert trade_audit(console)[0].details["proposed_by"] == "console:rita"

    twice = review(console, "ada", "approve")
    assert twice.status_code == 302
    follow = console.client("ada").get("/trade/imports/suspensions/1").get_data(as_text=True)
    assert "APPROVED by console:rob" in follow and "Approve and apply" not in follow


def test_a_rejected_quota_import_applies_nothing(console):
    assert propose(console, "quotas", term="TUS").status_code == 302
    page = console.client("ada").get("/trade/imports/quotas/1").get_data(as_text=True)
    assert "1 entries" in page and "4 quota(s) of other countries" in page
    assert review(console, "ada", "reject", "quotas", reason="wrong year").status_code == 302
    assert service(console).quotas() == []
    [done] = service(console).proposals("quotas")
    assert (done.status.value, done.decided_by) == ("REJECTED", "console:ada")
    assert "REJECTED" in console.client("vic").get("/trade/").get_data(as_text=True)
    wrong_kind = review(console, "rob", "approve", "suspensions", 1)
    assert wrong_kind.status_code == 302
    assert service(console).suspensions() == []


def test_a_file_that_is_not_a_species_plus_response_is_refused_and_nothing_is_proposed(console):
    response = propose(console, path=NOT_SPECIES_PLUS)
    assert response.status_code == 422
    assert "no &#39;cites_suspensions&#39; list" in response.get_data(as_text=True)
    no_taxon = propose(console, taxon="")
    assert no_taxon.status_code == 422
    assert "give the taxon the file was requested for" in no_taxon.get_data(as_text=True)
    assert service(console).proposals("suspensions") == [] and trade_audit(console) == []


def test_an_unknown_import_or_kind_is_404(console):
    client = console.client("rita")
    assert client.get("/trade/imports/suspensions/9").status_code == 404
    assert client.get("/trade/imports/permits/1").status_code == 404
    assert review(console, "rob", "approve", "permits").status_code == 404
    assert review(console, "rob", "publish").status_code == 404


# -- roles and CSRF on every action -------------------------------------------------------------

ACTIONS = [
    ("/trade/edit/suspension", SUSPENSION),
    ("/trade/edit/suspension/1/remove", {"reason": "x"}),
    ("/trade/edit/quota", QUOTA),
    ("/trade/edit/import/suspensions", {"reason": "x", "taxon": "Loxodonta africana"}),
    ("/trade/edit/import/suspensions/1/approve", {"reason": "x"}),
    ("/trade/edit/import/suspensions/1/reject", {"reason": "x"}),
]


def _state(console):
    s = service(console)
    return (
        s.suspensions(removed=True),
        s.quotas(),
        s.proposals("suspensions"),
        len(console.backend.latest_audit(500)),
    )


@pytest.mark.parametrize("who", ["otto", "vic", "bert"])
@pytest.mark.parametrize(("url", "form"), ACTIONS)
def test_officers_viewers_and_brokers_get_403_on_every_action(console, who, url, form):
    add_suspension(console)
    propose(console)
    before = _state(console)
    response = post(console.client(who), url, form, page="/trade/")
    assert response.status_code == 403
    assert _state(console) == before


@pytest.mark.parametrize(("url", "form"), ACTIONS)
def test_every_action_without_its_csrf_token_is_refused_and_changes_nothing(console, url, form):
    add_suspension(console)
    propose(console)
    before = _state(console)
    response = post(console.client("rob"), url, form, csrf=False)
    assert response.status_code == 400 and "CSRF" in response.get_data(as_text=True)
    assert _state(console) == before


def test_a_post_without_a_login_is_401_even_with_a_token(console):
    anonymous = console.client()
    response = post(anonymous, "/trade/edit/quota", QUOTA, page="/login")
    assert response.status_code == 401
    assert service(console).quotas() == []

"""Permit search and page; paper permits entered by one user, confirmed by another."""

from __future__ import annotations

from tests.console.conftest import PAPER_PERMIT, post

PAPER = PAPER_PERMIT | {
    "type": "EXPORT",
    "consignment_policy": "SINGLE",
    "issued_on": "2026-11-20",
    "valid_from": "2026-11-20",
    "valid_until": "2027-05-19",
}


def test_permit_search_by_number_country_and_taxon(console):
    client = console.client("vic")

    def found(query: str) -> list[str]:
        html = client.get(f"/permits/?{query}").get_data(as_text=True)
        return [n for n in ("26NA000123", "26NA000131") if f">{n}</a>" in html]

    assert found("") == ["26NA000123", "26NA000131"] or found("") == ["26NA000131", "26NA000123"]
    assert found("number=26NA00012") == ["26NA000123"]
    assert found("country=DE") == []
    assert found("taxon=Crocodylus") == ["26NA000131"]


def test_a_permit_page_shows_lines_quantities_usages_and_history(console):
    console.clear("export-sample.xml", "D-1")
    html = console.client("vic").get("/permits/26NA000131/NA").get_data(as_text=True)
    assert "Crocodylus niloticus" in html
    assert "50 KIL" in html and "38 KIL" in html  # issued, remaining
    assert 'href="/declarations/D-1">D-1</a>' in html and "WDHA" in html
    assert "permit.issued" in html
    assert console.client("vic").get("/permits/NOPE/NA").status_code == 404


def _enter(console, who: str = "otto", form: dict | None = None):
    return post(console.client(who), "/paper/", form or PAPER)


def test_paper_permit_entered_by_one_confirmed_by_another_releases_the_held_declaration(console):
    console.clear("export-sample.xml", "HELD-1", replace={"26NA000123": "26NA000999"})
    assert console.app.clearance.stored("HELD-1").state.value == "HELD"

    entered = _enter(console)
    assert entered.status_code == 302
    entry = console.backend.permits_read.entries("ENTERED")[0]
    # not stored yet: held until the second user confirms
    assert console.app.clearance.stored("HELD-1").state.value == "HELD"

    confirmed = post(console.client("olga"), f"/paper/{entry.id}/confirm", page="/paper/")
    assert confirmed.status_code == 302
    stored = console.app.clearance.stored("HELD-1")
    assert stored.state.value == "CLEARED"
    usages = console.app.permits.balance("26NA000999", "NA").usages
    assert [u.declaration_id for u in usages] == ["HELD-1"]

    page = console.client("vic").get("/permits/26NA000999/NA").get_data(as_text=True)
    assert "entered by hand" in page and "console:otto" in page and "console:olga" in page
    listing = console.client("vic").get("/permits/?number=26NA000999").get_data(as_text=True)
    assert "entered by hand" in listing
    declaration = console.client("vic").get("/declarations/HELD-1").get_data(as_text=True)
    assert "entered by hand" in declaration


def test_the_user_who_entered_a_paper_permit_cannot_confirm_it(console):
    _enter(console, "otto")
    entry = console.backend.permits_read.entries("ENTERED")[0]
    refused = post(console.client("otto"), f"/paper/{entry.id}/confirm", page="/paper/")
    assert refused.status_code == 403
    assert console.backend.permits_read.entry(entry.id).state == "ENTERED"


def test_a_viewer_cannot_enter_or_confirm_a_paper_permit(console):
    assert _enter(console, "vic").status_code == 403
    _enter(console, "otto")
    entry = console.backend.permits_read.entries("ENTERED")[0]
    assert (
        post(console.client("vic"), f"/paper/{entry.id}/confirm", page="/paper/").status_code == 403
    )


def test_an_invalid_paper_permit_is_refused_with_the_field_named_and_nothing_stored(console):
    bad = PAPER | {"line0_quantity": "forty", "valid_until": "2026-01-01"}
    response = _enter(console, form=bad)
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "was not entered" in text and "quantity" in text
    assert console.backend.permits_read.entries(None) == []


def test_a_discarded_entry_is_never_stored(console):
    _enter(console)
    entry = console.backend.permits_read.entries("ENTERED")[0]
    post(console.client("olga"), f"/paper/{entry.id}/discard", {"reason": "typo"}, page="/paper/")
    assert console.backend.permits_read.entry(entry.id).state == "DISCARDED"
    again = post(console.client("olga"), f"/paper/{entry.id}/confirm", page="/paper/")
    assert again.status_code == 404


def test_a_permit_page_says_who_signed_the_epermit(console):
    from dataclasses import replace

    from cites_connector.mappings.epermit_xml import parse_epermit
    from tests.signing import PARROTS_COUNTRY, PARROTS_NUMBER, parrots, signed, south_africa

    permit = parse_epermit(signed(south_africa()), version=1)
    console.app.permits.apply(replace(permit, signer="CN=DFFE permit office, C=ZA"))
    html = (
        console.client("vic")
        .get(f"/permits/{PARROTS_NUMBER}/{PARROTS_COUNTRY}")
        .get_data(as_text=True)
    )
    assert "signed by CN=DFFE permit office, C=ZA" in html
    unsigned = replace(parse_epermit(parrots(), version=1), permit_number="26ZA004432")
    console.app.permits.apply(replace(unsigned, unsigned=True))
    html = console.client("vic").get("/permits/26ZA004432/ZA").get_data(as_text=True)
    assert 'badge b-held">unsigned<' in html


def test_a_declaration_page_says_who_signed_the_permits_it_used(console):
    from dataclasses import replace

    with console.app.ledger.snapshot() as uow:
        permit = uow.permits.get("26NA000131", "NA")
    assert permit is not None
    signer = "CN=Management Authority of Namibia, C=NA"
    console.app.permits.apply(replace(permit, version=2, signer=signer))
    console.clear("export-sample.xml", "D-SIGNED")
    html = console.client("vic").get("/declarations/D-SIGNED").get_data(as_text=True)
    assert f"signed by {signer}" in html

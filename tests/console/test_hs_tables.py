"""HS tables in the console: browse, search, edit a draft, CSV, diff, impact, four eyes."""

from __future__ import annotations

import io

from tests.console.conftest import post


def _new_draft(console, who: str = "rita") -> str:
    response = post(console.client(who), "/hs/edit/new", {"edition": "HS2022"}, page="/hs/")
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.headers["Location"].rsplit("/", 1)[-1]


def _add(console, ref: str, who: str = "rita", **row):
    return post(console.client(who), f"/hs/edit/{ref}/row", row, page=f"/hs/table/{ref}")


def test_versions_and_drafts_are_listed_and_rows_searched_by_prefix_or_taxon(console):
    client = console.client("vic")
    index = client.get("/hs/").get_data(as_text=True)
    assert "HS2022/1" in index and "in force" in index
    by_prefix = client.get("/hs/table/HS2022/1?prefix=010620").get_data(as_text=True)
    assert "Pythonidae" in by_prefix and "4106" not in by_prefix
    by_taxon = client.get("/hs/table/HS2022/1?taxon=pythonidae").get_data(as_text=True)
    assert "<code>010620</code>" in by_taxon


def test_an_invalid_row_is_refused_with_the_message_next_to_it_then_fixed(console):
    ref = _new_draft(console)
    bad = _add(console, ref, hs_prefix="010690", taxon="Pythonus fantasticus")
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    assert 'class="row-error" id="new-row"' in html and "Pythonus fantasticus" in html
    assert 'role="alert"' in html
    rows_before = console.backend.hs_factory({}).rows(ref)[1]
    assert not any(r.taxon == "Pythonus fantasticus" for r in rows_before)

    good = _add(console, ref, hs_prefix="010690", taxon="Python regius", terms="LIV")
    assert good.status_code == 302
    rows = console.backend.hs_factory({}).rows(ref)[1]
    assert any(r.hs_prefix == "010690" and r.taxon == "Python regius" for r in rows)


def test_a_row_is_changed_and_removed_in_the_page(console):
    ref = _new_draft(console)
    _add(console, ref, hs_prefix="010690", taxon="Python regius", terms="LIV")
    changed = _add(console, ref, hs_prefix="010690", taxon="Python regius", terms="", note="x")
    assert changed.status_code == 302, changed.get_data(as_text=True)
    rows = console.backend.hs_factory({}).rows(ref)[1]
    row = next(r for r in rows if (r.hs_prefix, r.taxon) == ("010690", "Python regius"))
    assert row.terms == frozenset() and row.note == "x"
    removed = post(
        console.client("rita"),
        f"/hs/edit/{ref}/remove",
        {"hs_prefix": "010690", "taxon": "Python regius"},
        page=f"/hs/table/{ref}",
    )
    assert removed.status_code == 302
    rows = console.backend.hs_factory({}).rows(ref)[1]
    assert not any((r.hs_prefix, r.taxon) == ("010690", "Python regius") for r in rows)


def test_csv_export_and_import(console):
    client = console.client("rita")
    exported = client.get("/hs/csv/HS2022/1")
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    assert exported.get_data(as_text=True).startswith("hs_prefix,taxon,terms,note")
    ref = _new_draft(console)
    page = client.get(f"/hs/table/{ref}").get_data(as_text=True)
    from tests.console.conftest import csrf_of

    token = csrf_of(page)
    bad = client.post(
        f"/hs/edit/{ref}/import",
        data={
            "csrf_token": token,
            "file": (io.BytesIO(b"hs_prefix,taxon\n01x,Python regius\n"), "t.csv"),
        },
        content_type="multipart/form-data",
    )
    assert bad.status_code == 422 and "line 2" in bad.get_data(as_text=True)
    good = client.post(
        f"/hs/edit/{ref}/import",
        data={
            "csrf_token": token,
            "file": (io.BytesIO(b"hs_prefix,taxon,terms,note\n010620,Pythonidae,,\n"), "t.csv"),
        },
        content_type="multipart/form-data",
    )
    assert good.status_code == 302
    assert len(console.backend.hs_factory({}).rows(ref)[1]) == 1


def test_diff_against_the_version_in_force_and_impact_preview(console):
    console.clear("export-sample.xml", "D-1")
    ref = _new_draft(console)
    post(
        console.client("rita"),
        f"/hs/edit/{ref}/remove",
        {"hs_prefix": "010620"},
        page=f"/hs/table/{ref}",
    )
    client = console.client("vic")
    diff = client.get(f"/hs/diff/{ref}").get_data(as_text=True)
    assert "removed" in diff and "<code>010620</code>" in diff
    impact = client.get(f"/hs/impact/{ref}").get_data(as_text=True)
    assert "STOPS_CITES" in impact and "D-1" in impact


def test_propose_approve_and_publish_by_two_people(console):
    ref = _new_draft(console, "rita")
    _add(console, ref, "rita", hs_prefix="010690", taxon="Python regius", terms="LIV")
    assert (
        post(console.client("rita"), f"/hs/edit/{ref}/propose", page=f"/hs/table/{ref}").status_code
        == 302
    )
    # four eyes: the proposer cannot approve
    own = post(console.client("rita"), f"/hs/edit/{ref}/approve", page=f"/hs/table/{ref}")
    assert own.status_code == 403 and "four eyes" in own.get_data(as_text=True)
    assert (
        post(console.client("rob"), f"/hs/edit/{ref}/approve", page=f"/hs/table/{ref}").status_code
        == 302
    )
    published = post(
        console.client("rob"),
        f"/hs/edit/{ref}/publish",
        {"effective_from": "2026-12-01"},
        page=f"/hs/table/{ref}",
    )
    assert published.status_code == 302
    assert published.headers["Location"].endswith("/hs/table/HS2022/2")
    versions = {v.label: v for v in console.backend.hs_factory({}).overview().versions}
    assert versions["HS2022/2"].proposed_by == "console:rita"
    assert versions["HS2022/2"].approved_by == "console:rob"


def test_a_reviewer_who_edited_a_draft_cannot_approve_it(console):
    ref = _new_draft(console, "rita")
    _add(console, ref, "rob", hs_prefix="010690", taxon="Python regius")
    post(console.client("rita"), f"/hs/edit/{ref}/propose", page=f"/hs/table/{ref}")
    assert (
        post(console.client("rob"), f"/hs/edit/{ref}/approve", page=f"/hs/table/{ref}").status_code
        == 403
    )


def test_a_rejection_needs_a_reason_and_sends_the_draft_back(console):
    ref = _new_draft(console, "rita")
    post(console.client("rita"), f"/hs/edit/{ref}/propose", page=f"/hs/table/{ref}")
    post(console.client("rob"), f"/hs/edit/{ref}/reject", {"reason": ""}, page=f"/hs/table/{ref}")
    draft = next(d for d in console.backend.hs_factory({}).overview().drafts if d.ref == ref)
    assert draft.status.value == "PROPOSED"
    post(
        console.client("rob"),
        f"/hs/edit/{ref}/reject",
        {"reason": "wrong"},
        page=f"/hs/table/{ref}",
    )
    draft = next(d for d in console.backend.hs_factory({}).overview().drafts if d.ref == ref)
    assert draft.status.value == "DRAFT" and draft.rejection == "wrong"


def test_officers_and_viewers_read_but_do_not_edit(console):
    for who in ("otto", "vic"):
        assert console.client(who).get("/hs/table/HS2022/1").status_code == 200
        refused = post(console.client(who), "/hs/edit/new", {"edition": "HS2022"}, page="/hs/")
        assert refused.status_code == 403
    assert console.backend.hs_factory({}).overview().drafts == []


def test_an_administrator_sees_the_editing_forms_a_reviewer_sees(console):
    """admin may do everything a reviewer may (the role table): the forms are shown too."""
    for who in ("ada", "rita"):
        assert "Start a draft" in console.client(who).get("/hs/").get_data(as_text=True)
    assert "Start a draft" not in console.client("otto").get("/hs/").get_data(as_text=True)

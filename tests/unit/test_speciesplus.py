"""Species+ taxon_concepts: the pure mapping, the HTTP client (no real network), the refresh."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
import requests
import responses
from responses import matchers

from cites_connector.adapters.speciesplus_client import (
    SpeciesPlusAuthError,
    SpeciesPlusClient,
    SpeciesPlusUnavailable,
    refresh_taxonomy,
)
from cites_connector.domain.errors import ConnectorError, Unavailable
from cites_connector.domain.taxonomy import Taxon, Taxonomy
from cites_connector.hs_codes.taxonomy_data import load_taxonomy_dir, write_taxonomy_csv
from cites_connector.mappings.speciesplus import taxonomy_from_pages, translate_pages

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "speciesplus"
BASE = "https://api.speciesplus.net/api/v1"
URL = f"{BASE}/taxon_concepts"


def fixture_page(number: int) -> dict:
    return json.loads((FIXTURES / f"taxon_concepts_page{number}.json").read_text("utf-8"))


def page(number: int, per_page: int, total: int, names: list[str]) -> dict:
    return {
        "pagination": {"current_page": number, "per_page": per_page, "total_entries": total},
        "taxon_concepts": [
            {
                "id": i,
                "full_name": n,
                "rank": "SPECIES",
                "name_status": "A",
                "active": True,
                "cites_listing": "II",
                "synonyms": [],
                "accepted_names": [],
                "higher_taxa": {
                    "kingdom": "Animalia",
                    "phylum": "Chordata",
                    "class": "Reptilia",
                    "order": "Serpentes",
                    "family": "Pythonidae",
                },
            }
            for i, n in enumerate(names)
        ],
    }


def client(**kwargs) -> SpeciesPlusClient:
    kwargs.setdefault("per_page", 2)
    return SpeciesPlusClient(token="secret-token", backoff_seconds=0, **kwargs)


@pytest.fixture
def api():
    with responses.RequestsMock() as mock:  # any unregistered request fails: no real network
        yield mock


# -- the pure mapping ------------------------------------------------------------------------


def test_an_accepted_species_hangs_from_its_genus_and_the_higher_taxa():
    taxonomy = taxonomy_from_pages([fixture_page(1)])
    assert taxonomy.lineage("Python regius") == (
        "Python regius",
        "Python",
        "Pythonidae",
        "Serpentes",
        "Reptilia",
        "Chordata",
        "Animalia",
    )
    assert taxonomy.is_within("Crocodylus niloticus", "Crocodylia") is True


def test_the_cites_listing_is_kept_on_the_taxon():
    taxonomy = taxonomy_from_pages([fixture_page(1)])
    assert taxonomy.resolve("Crocodylus niloticus").appendix == "I/II"
    assert taxonomy.resolve("Varanus").rank == "GENUS"


def test_synonyms_from_accepted_records_and_synonym_records_both_resolve():
    taxonomy = taxonomy_from_pages([fixture_page(1), fixture_page(2)])
    assert taxonomy.resolve("Boa regia").name == "Python regius"
    assert taxonomy.resolve("Caesalpinia echinata").name == "Paubrasilia echinata"


def test_a_plant_without_a_phylum_still_reaches_its_kingdom():
    taxonomy = taxonomy_from_pages([fixture_page(2)])
    assert taxonomy.lineage("Paubrasilia echinata")[-3:] == ("Fabales", "Magnoliopsida", "Plantae")


def test_a_subspecies_hangs_from_its_species():
    taxonomy = taxonomy_from_pages([fixture_page(2)])
    assert taxonomy.lineage("Ovis ammon hodgsonii")[:3] == (
        "Ovis ammon hodgsonii",
        "Ovis ammon",
        "Ovis",
    )


def test_a_synonym_of_several_accepted_names_is_dropped_not_guessed():
    batch = translate_pages([fixture_page(2)])
    assert batch.taxonomy().resolve("Psittacus timneh") is None
    assert batch.ambiguous_synonyms == {"psittacus timneh"}


def test_an_inactive_concept_is_skipped():
    assert taxonomy_from_pages([fixture_page(2)]).resolve("Testudo retired") is None


def test_implied_ancestors_do_not_overwrite_a_record_species_plus_sent():
    taxonomy = taxonomy_from_pages([fixture_page(1)])
    assert taxonomy.resolve("Varanus").appendix == "I/II"


def test_a_higher_taxon_that_is_not_a_scientific_name_is_skipped_not_fatal():
    concept = {
        "id": 1,
        "full_name": "Python regius",
        "rank": "SPECIES",
        "name_status": "A",
        "active": True,
        "higher_taxa": {"kingdom": "Animalia", "class": "Reptilia", "family": "?"},
    }
    taxonomy = taxonomy_from_pages([{"taxon_concepts": [concept]}])
    assert taxonomy.lineage("Python regius") == ("Python regius", "Python", "Reptilia", "Animalia")


# -- the client --------------------------------------------------------------------------------


def test_the_client_sends_the_token_and_pages_until_total_entries(api):
    for number, names in (
        (1, ["Python regius", "Python sebae"]),
        (2, ["Python curtus", "Python natalensis"]),
        (3, ["Python anchietae"]),
    ):
        api.get(
            URL,
            json=page(number, 2, 5, names),
            match=[
                matchers.header_matcher({"X-Authentication-Token": "secret-token"}),
                matchers.query_param_matcher({"page": str(number), "per_page": "2"}),
            ],
        )
    pages = list(client().iter_taxon_concept_pages())
    assert [p["pagination"]["current_page"] for p in pages] == [1, 2, 3]
    assert len(api.calls) == 3


def test_updated_since_is_sent_as_an_iso_date(api):
    api.get(
        URL,
        json=page(1, 2, 1, ["Python regius"]),
        match=[
            matchers.query_param_matcher(
                {"page": "1", "per_page": "2", "updated_since": "2024-03-01"}
            )
        ],
    )
    assert len(list(client().iter_taxon_concept_pages(updated_since=date(2024, 3, 1)))) == 1


def test_an_empty_result_is_one_page(api):
    api.get(
        URL,
        json={
            "pagination": {"current_page": 1, "per_page": 2, "total_entries": 0},
            "taxon_concepts": [],
        },
    )
    assert len(list(client().iter_taxon_concept_pages())) == 1


def test_a_server_error_is_retried_then_the_page_is_used(api):
    api.get(URL, status=500)
    api.get(URL, status=429)
    api.get(URL, json=page(1, 2, 1, ["Python regius"]))
    pages = list(client().iter_taxon_concept_pages())
    assert len(pages) == 1 and len(api.calls) == 3


def test_persistent_server_errors_raise_unavailable(api):
    api.get(URL, status=503)
    with pytest.raises(SpeciesPlusUnavailable, match="unavailable") as raised:
        list(client(attempts=3).iter_taxon_concept_pages())
    assert isinstance(raised.value, Unavailable) and len(api.calls) == 3


def test_a_network_failure_raises_unavailable(api):
    api.get(URL, body=requests.ConnectionError("connection refused"))
    with pytest.raises(SpeciesPlusUnavailable):
        list(client(attempts=2).iter_taxon_concept_pages())


def test_a_refused_token_raises_a_clear_error_without_retrying(api):
    api.get(URL, status=401)
    with pytest.raises(SpeciesPlusAuthError, match="token") as raised:
        list(client().iter_taxon_concept_pages())
    assert isinstance(raised.value, ConnectorError)
    assert not isinstance(raised.value, Unavailable)
    assert len(api.calls) == 1


def test_a_body_that_is_not_a_taxon_concepts_page_is_refused(api):
    api.get(URL, body="<html>maintenance</html>", content_type="text/html")
    with pytest.raises(ConnectorError, match="not JSON"):
        list(client().iter_taxon_concept_pages())


def test_building_a_client_connects_to_nothing(api):
    SpeciesPlusClient(token="secret-token")
    assert len(api.calls) == 0


# -- the refresh ---------------------------------------------------------------------------------


def test_refresh_merges_species_plus_records_into_the_csvs(api, tmp_path):
    write_taxonomy_csv(
        Taxonomy(
            [
                Taxon("Animalia", "KINGDOM", None),
                Taxon("Varanus", "GENUS", "Animalia", "II"),
                Taxon("Varanus niloticus", "SPECIES", "Varanus"),
            ]
        ),
        tmp_path,
    )
    first, second = fixture_page(1), fixture_page(2)
    first["pagination"]["per_page"] = 4
    api.get(URL, json=first)
    api.get(URL, json=second)
    result = refresh_taxonomy(client(per_page=4), tmp_path, updated_since=date(2023, 1, 1))
    refreshed = load_taxonomy_dir(tmp_path)
    assert refreshed.is_within("Python regius", "Pythonidae") is True
    assert refreshed.resolve("Varanus").appendix == "I/II"
    assert refreshed.is_within("Varanus niloticus", "Varanidae") is True
    assert result.pages == 2 and result.concepts == 8 and result.taxa_after > result.taxa_before


def test_a_failed_refresh_leaves_the_csvs_untouched(api, tmp_path):
    write_taxonomy_csv(Taxonomy([Taxon("Animalia", "KINGDOM", None)]), tmp_path)
    before = (tmp_path / "taxa.csv").read_text()
    api.get(URL, json=page(1, 2, 3, ["Python regius", "Python sebae"]))
    api.get(URL, status=503)
    with pytest.raises(SpeciesPlusUnavailable):
        refresh_taxonomy(client(attempts=2), tmp_path)
    assert (tmp_path / "taxa.csv").read_text() == before


def test_a_refresh_reports_its_progress_page_by_page_out_of_the_pagination_total(api, tmp_path):
    write_taxonomy_csv(Taxonomy([Taxon("Animalia", "KINGDOM", None)]), tmp_path)
    for number, names in (
        (1, ["Python regius", "Python sebae"]),
        (2, ["Python curtus", "Python natalensis"]),
        (3, ["Python anchietae"]),
    ):
        api.get(URL, json=page(number, 2, 5, names))
    heard: list[tuple[int, int | None]] = []
    refresh_taxonomy(client(), tmp_path, progress=lambda done, total: heard.append((done, total)))
    assert heard == [(1, 3), (2, 3), (3, 3)]

"""Reference lists ``hs validate`` checks table rows against (see PROVENANCE.md here).

The HS nomenclature says which headings exist in an edition, the term list which CITES term
codes exist; both are bundled so that validation works at a border post without the network.
"""

from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path

from cites_connector.domain.hs_admin_validation import Nomenclature

HERE = Path(__file__).resolve().parent
TERMS_FILE = HERE / "cites_terms.csv"


def nomenclature_file(edition: str) -> Path:
    return HERE / f"{edition.lower()}.csv"


@lru_cache(maxsize=8)
def load_nomenclature(edition: str) -> Nomenclature | None:
    """The bundled nomenclature of ``edition`` (``HS2022``), or None when none is bundled."""
    path = nomenclature_file(edition)
    if not path.is_file():
        return None
    codes: dict[str, str] = {}
    complete: set[str] = set()
    with path.open(encoding="utf-8", newline="") as handle:
        for record in csv.DictReader(handle):
            code = (record["code"] or "").strip()
            codes[code] = (record["description"] or "").strip()
            if (record["complete_below"] or "").strip().lower() == "yes":
                complete.add(code)
    codes.pop("", None)
    return Nomenclature(edition=edition, codes=codes, complete=frozenset(complete))


@lru_cache(maxsize=1)
def load_cites_terms() -> frozenset[str]:
    with TERMS_FILE.open(encoding="utf-8", newline="") as handle:
        return frozenset(r["code"].strip() for r in csv.DictReader(handle) if r["code"].strip())

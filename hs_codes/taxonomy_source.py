"""Where the taxonomy in use comes from and how recent it is (``source.json``).

An officer told "Appendix I" must be able to ask "according to what, of when?": the bundled
starter data is years behind Species+, an import is as recent as the records it held. The
bundled folder and every imported one carry a ``source.json`` (``source``, ``data_date``: the
latest date of the records, ``imported_at``); ``taxonomy lookup`` prints it.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from cites_connector.hs_codes.taxonomy_data import BUNDLED_DIR, FILE_MODE, TAXA_FILE

SOURCE_FILE = "source.json"


@dataclass(frozen=True)
class TaxonomySource:
    source: str
    #: the date of the most recent record in the data (ISO date), if known
    data_date: str | None = None
    #: when it was imported into this data directory (ISO timestamp); None for bundled data
    imported_at: str | None = None

    def describe(self) -> str:
        parts = [self.source]
        if self.data_date:
            parts.append(f"records up to {self.data_date}")
        if self.imported_at:
            parts.append(f"imported {self.imported_at}")
        return "; ".join(parts)


def source_in_use(directory: Path | str) -> TaxonomySource:
    """The source of the taxonomy the connector reads (the data directory's, else bundled)."""
    directory = Path(directory)
    if (directory / TAXA_FILE).exists():
        return read_source(directory)
    return read_source(BUNDLED_DIR)


def read_source(directory: Path | str) -> TaxonomySource:
    path = Path(directory) / SOURCE_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return TaxonomySource(f"unrecorded (no {SOURCE_FILE} in {directory})")
    return TaxonomySource(
        str(data.get("source") or "unrecorded"), data.get("data_date"), data.get("imported_at")
    )


def write_source(directory: Path | str, source: TaxonomySource) -> Path:
    path = Path(directory) / SOURCE_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with open(descriptor, "w", encoding="utf-8") as handle:
            json.dump(asdict(source), handle, indent=2, ensure_ascii=False)
            handle.write("\n")
        os.chmod(temporary, FILE_MODE)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path

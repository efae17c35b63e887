"""The sample documents of examples/, moved to another day.

The sample SAD is registered on 28/11/2026 and the sample permits are valid from November 2026
to May 2027. Tests that run the connector on the real clock (the CLI, ``serve`` as a process)
would otherwise depend on the day they run: the declaration date may lie at most a few days
before the day of the check (contract 5, DECLARATION_DATE_IMPLAUSIBLE), and the permits expire.
These helpers give the same documents dated around a chosen day, today by default.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

from lxml import etree

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_SAD = ROOT / "examples" / "sad-export-WDHA-E1042.xml"
SAMPLE_PERMITS = ROOT / "examples" / "permits-namibia.json"


def sad_dated(day: date | None = None, sad: bytes | None = None) -> bytes:
    """The SAD (the sample by default) registered on ``day`` (ASYCUDA's dd/mm/yyyy)."""
    root = etree.fromstring(sad if sad is not None else SAMPLE_SAD.read_bytes())
    found = root.find("Identification/Registration/Date")
    found.text = (day or date.today()).strftime("%d/%m/%Y")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def permits_dated(day: date | None = None) -> bytes:
    """The sample permits, issued 20 days before ``day`` and valid 150 days after it."""
    day = day or date.today()
    permits = json.loads(SAMPLE_PERMITS.read_text())
    for permit in permits:
        permit["issued_on"] = permit["valid_from"] = (day - timedelta(days=20)).isoformat()
        permit["valid_until"] = (day + timedelta(days=150)).isoformat()
    return json.dumps(permits, indent=2).encode()


def write_samples(directory: Path, day: date | None = None) -> tuple[Path, Path]:
    """(permits file, SAD file) dated around ``day``, written into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    permits, sad = directory / "permits-namibia.json", directory / "sad-export-WDHA-E1042.xml"
    permits.write_bytes(permits_dated(day))
    sad.write_bytes(sad_dated(day))
    return permits, sad

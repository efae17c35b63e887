"""The simulator's certificates: a folder of CITES ePermit XML files, bare or inside an EPIX
response envelope (Toolkit v1 or v2), indexed by the permit number and issuing country the
connector's own mapping reads from them. A file whose name ends in ``.nonfinal.xml`` is served
by GetNonFinalCitesCertificate only; any other by both operations.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import structlog
from lxml import etree

from cites_connector.domain.errors import InvalidInput
from cites_connector.mappings.epermit_xml import epermit_to_json
from cites_connector.mappings.safe_xml import parse_xml

log = structlog.get_logger(__name__)
EPERMIT_ROOTS = ("CITESEPermit", "CBFShip")


@dataclass(frozen=True)
class Certificate:
    number: str
    country: str
    final: bool
    #: the ePermit element serialised, without an XML declaration
    xml: bytes


def _epermit(data: bytes) -> bytes:
    root = parse_xml(data)
    if etree.QName(root).localname in EPERMIT_ROOTS:
        return etree.tostring(root)
    found = next(root.iter(*(f"{{*}}{name}" for name in EPERMIT_ROOTS)), None)
    if found is None:
        raise InvalidInput("no CITESEPermit or CBFShip element")
    return etree.tostring(found)


def load_certificates(folder: Path) -> dict[tuple[str, str, bool], Certificate]:
    """(number, country, final) -> certificate, for every readable file in ``folder``."""
    found: dict[tuple[str, str, bool], Certificate] = {}
    for path in sorted(Path(folder).glob("*.xml")):
        try:
            data = path.read_bytes()
            body = epermit_to_json(data, version=1)
            number, country = str(body["permit_number"]), str(body["issuing_country"])
            xml = _epermit(data)
        except (InvalidInput, KeyError, OSError) as exc:
            log.warning("epix_simulator.file_skipped", file=path.name, error=str(exc)[:200])
            continue
        finals = (False,) if path.name.endswith(".nonfinal.xml") else (True, False)
        for final in finals:
            found[(number, country, final)] = Certificate(number, country, final, xml)
    return found

"""What the hostile tests of the decision rules and declaration states share.

A real clearance service on loopback (waitress + zeep, from tests/integration/soap) on a fresh
SQLite ledger holding the two sample Namibian permits, the sample export SAD edited one field at
a time the way an attacker would, and the ledger dumps that prove a refusal wrote nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests
from lxml import etree

from tests.hostile.ledger_dump import BOOKKEEPING, ledger_dump
from tests.integration.soap.conftest import (
    SAMPLE_SAD,
    Service,
    envelope,
    running_service,
    wsse_text,
)

#: a held decision is recorded (decision, declaration state, held citation, broker notice, audit
#: row) but writes nothing off: these tables may change, the permits, lines and usages may not
DECISION_RECORDS = frozenset({"decisions", "declarations", "held_citations", "outbox", "audit_log"})


def write_offs(engine) -> dict:
    """Permits, their lines and the usages: what a held declaration must leave as it was."""
    return ledger_dump(engine, exclude=BOOKKEEPING | DECISION_RECORDS)


@contextmanager
def soap_service(tmp_path: Path, **settings) -> Iterator[Service]:
    """The SOAP service with the sample permits; ``settings`` as CONNECTOR_* would give them."""
    with running_service(tmp_path, **settings) as service:
        yield service


def edited_sad(changes: dict[str, str | None], sad: bytes = SAMPLE_SAD) -> bytes:
    """The sample SAD with element texts replaced: {"Traders/Exporter/Exporter_name": "..."}.

    A path starting with ``Item[N]/`` edits the N-th item (from 1). ``None`` empties the element
    the ASYCUDA way (``<null/>``).
    """
    root = etree.fromstring(sad)
    for path, value in changes.items():
        found = root.find(path)
        assert found is not None, f"the sample SAD has no {path}"
        for child in list(found):
            found.remove(child)
        if value is None:
            found.text = None
            etree.SubElement(found, "null")
        else:
            found.text = value
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def codes(entries) -> list[str]:
    """Reason or flag codes of a zeep result list."""
    return [entry["Code"] for entry in entries or ()]


def warm_up(endpoint: str, header: str | None = None) -> None:
    """One request before many at once: the service builds its XML schema on the first
    request it validates, and libxml2 must not build it in several threads together (twelve
    first requests at once were seen crashing ``serve``; reported to the SOAP edge)."""
    response = requests.post(
        endpoint,
        timeout=30,
        data=envelope(
            "<c:GetDecisionRequest><c:DeclarationId>WARM-UP</c:DeclarationId>"
            "</c:GetDecisionRequest>",
            header if header is not None else wsse_text(),
        ),
        headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": "GetDecision"},
    )
    assert b"Client.UnknownDeclaration" in response.content, response.text

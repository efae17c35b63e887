"""CITES at the border end to end (contract 2, 3.1, 5, 5.1): a connector as ``serve`` runs it
(the SOAP clearance service over real HTTP, the permit consumer and the outbox relay on a
real RabbitMQ virtual host, a real SQLite or PostgreSQL ledger), permits published to
``cites.permits`` as the trusted ``permit-system`` user, and SAD documents built here in the
shape of ASYCUDA World's export (tests/fixtures/sad/) and sent with CheckDeclaration by zeep.

The clock stands at 2026-11-28 10:00 UTC, the day every SAD here is registered, so the
permits' dates (and the six months of Art. VI(2)) do not depend on the day the tests run.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from cites_connector.adapters.amqp import topology
from cites_connector.adapters.soap.clearance_client import ClearanceClient
from cites_connector.adapters.sql.migrate import upgrade
from cites_connector.app import Application, build_application
from cites_connector.app.serving import build_soap_app, build_soap_server
from cites_connector.app.settings import load_settings
from cites_connector.domain.units import format_decimal
from tests.integration.amqp.amqp_kit import (
    TestBroker,
    consumer_running,
    relay_running,
    stored_permit,
    wait_for,
)

CLOCK = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
DAY = "28/11/2026"
USERS = {"customs": "s3cret:pw"}
NAMIBIAN_IMPORTER = {"name": "Etosha Bird Park", "country": "NA", "id": "NA-IMP-0311"}
SA_EXPORTER = {"name": "Cape Aviculture (Pty) Ltd", "country": "ZA", "id": "ZA-EXP-3381"}


@dataclass(frozen=True)
class Item:
    """One SAD item: ``hs`` is the 8-digit commodity code plus the 2 national digits."""

    hs: str
    description: str
    origin: str
    quantity: str | None = None
    unit_code: str = "NMB"
    net_mass: str = "1"
    documents: Sequence[tuple[str, str]] = ()


@dataclass(frozen=True)
class Sad:
    items: Sequence[Item]
    type: str = "EX"
    procedure: str = "1"
    export_country: str = "NA"
    destination_country: str = "DE"
    exporter: tuple[str, str] = ("NA-EXP-0042", "Okavango Reptile Exports CC")
    consignee: tuple[str, str] = ("", "Terrarium Handel GmbH")
    office: tuple[str, str] = ("WDHA", "Windhoek Airport")
    date: str = DAY
    declarant: str = "BRK-0917"

    def xml(self) -> bytes:
        return (
            "<ASYCUDA><Identification><Office_segment>"
            f"{_el('Customs_clearance_office_code', self.office[0])}"
            f"{_el('Customs_Clearance_office_name', self.office[1])}</Office_segment><Type>"
            f"{_el('Type_of_declaration', self.type)}"
            f"{_el('Declaration_gen_procedure_code', self.procedure)}</Type>"
            f"<Registration>{_el('Date', self.date)}</Registration></Identification><Traders>"
            f"<Exporter>{_el('Exporter_code', self.exporter[0])}"
            f"{_el('Exporter_name', self.exporter[1])}</Exporter>"
            f"<Consignee>{_el('Consignee_code', self.consignee[0])}"
            f"{_el('Consignee_name', self.consignee[1])}</Consignee></Traders>"
            f"<Declarant>{_el('Declarant_code', self.declarant)}</Declarant>"
            "<General_information><Country>"
            f"<Export>{_el('Export_country_code', self.export_country)}</Export>"
            f"<Destination>{_el('Destination_country_code', self.destination_country)}"
            "</Destination></Country></General_information>"
            + "".join(_item(i) for i in self.items)
            + "</ASYCUDA>"
        ).encode()


def imported(
    *items: Item, export_country: str = "ZA", exporter: dict[str, Any] = SA_EXPORTER
) -> Sad:
    """An import into Namibia (IM 4) from ``export_country`` by the Etosha Bird Park."""
    return Sad(
        items,
        type="IM",
        procedure="4",
        export_country=export_country,
        destination_country="NA",
        exporter=(exporter.get("id") or "", exporter["name"]),
        consignee=(NAMIBIAN_IMPORTER["id"], NAMIBIAN_IMPORTER["name"]),
    )


def _el(name: str, value: str | None) -> str:
    return f"<{name}>{escape(value)}</{name}>" if value else f"<{name}><null/></{name}>"


def _item(item: Item) -> str:
    documents = "".join(
        f"<Attached_documents>{_el('Attached_document_code', code)}"
        f"{_el('Attached_document_reference', ref)}</Attached_documents>"
        for code, ref in item.documents
    )
    unit = (
        f"<Supplementary_unit>{_el('Suppplementary_unit_code', item.unit_code)}"
        f"{_el('Suppplementary_unit_quantity', item.quantity)}</Supplementary_unit>"
        if item.quantity is not None
        else ""
    )
    return (
        f"<Item>{documents}<Tarification><HScode>{_el('Commodity_code', item.hs[:8])}"
        f"{_el('Precision_1', item.hs[8:])}</HScode>{unit}</Tarification><Goods_description>"
        f"{_el('Country_of_origin_code', item.origin)}"
        f"{_el('Commercial_Description', item.description)}</Goods_description>"
        f"<Valuation_item><Weight_itm>{_el('Net_weight_itm', item.net_mass)}</Weight_itm>"
        "</Valuation_item></Item>"
    )


def permit(number: str, *lines: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """A permit event body (contract 3.1): by default a South African export permit to the
    Etosha Bird Park, issued 2026-11-02, for commercial purposes."""
    body: dict[str, Any] = {
        "permit_number": number,
        "issuing_country": "ZA",
        "version": 1,
        "type": "EXPORT",
        "status": "VALID",
        "issued_on": "2026-11-02",
        "valid_from": "2026-11-02",
        "valid_until": "2027-05-01",
        "consignment_policy": "SINGLE",
        "exporter": SA_EXPORTER,
        "importer": NAMIBIAN_IMPORTER,
        "purpose": "T",
        "lines": list(lines),
    }
    return body | fields


def line(taxon: str, appendix: str, source: str, term: str, quantity: str, **more: Any) -> dict:
    return {
        "line": "A",
        "taxon": taxon,
        "appendix": appendix,
        "source": source,
        "term": term,
        "quantity": quantity,
        "unit": None,
    } | more


@dataclass
class Border:
    app: Application
    endpoint: str
    broker: TestBroker
    usage_queue: str
    usages_read: list[dict[str, Any]] = field(default_factory=list)

    def client(self) -> ClearanceClient:
        return ClearanceClient(f"{self.endpoint}?wsdl", "customs", USERS["customs"], timeout=10)

    def check(self, declaration_id: str, sad: Sad, version: int = 1) -> dict[str, Any]:
        return self.client().check_declaration(declaration_id, version, sad.xml())

    def balance(self, number: str, country: str) -> dict[str, Any]:
        return self.client().get_permit_balance(number, country)

    def publish(self, body: dict[str, Any], key: str = "permit.issued") -> None:
        """Publish as the permit system and wait until the ledger holds that version."""
        self.broker.publish(key, body)
        self.await_permit(body["permit_number"], body["issuing_country"], body["version"])

    def publish_epermit(self, xml: bytes, number: str, country: str, version: int = 1) -> None:
        self.broker.publish(
            "permit.issued",
            xml,
            content_type="application/xml",
            headers={"permit-version": version},
        )
        self.await_permit(number, country, version)

    def await_permit(self, number: str, country: str, version: int) -> None:
        def there() -> bool:
            found = stored_permit(self.app, number, country)
            return found is not None and found.version == version

        wait_for(there, 15, f"permit {number} v{version} in the ledger")

    def usage_messages(self, count: int) -> list[tuple[str, dict[str, Any]]]:
        """The next ``count`` messages the relay published to ``cites.usage``."""
        return [
            (m.routing_key, json.loads(b))
            for m, _, b in self.broker.collect(self.usage_queue, count)
        ]


def usages(world: Border, number: str, country: str) -> list[tuple[str, str]]:
    """The ledger's usage rows of a permit: (declaration id, quantity)."""
    found = world.app.permits.balance(number, country).usages
    return [(u.declaration_id, format_decimal(u.quantity)) for u in found]


def reasons(item: dict[str, Any]) -> list[str]:
    return [r["Code"] for r in item["Reasons"] or []]


def flags(item: dict[str, Any]) -> list[str]:
    return [f["Code"] for f in item["RiskFlags"] or []]


@contextmanager
def border(tmp_path: Path, amqp_url: str, database_url: str | None = None) -> Iterator[Border]:
    """A running connector: SOAP on a free loopback port, consumer and relay on RabbitMQ."""
    settings = load_settings(
        home_country="NA",
        data_dir=tmp_path / f"var-{uuid.uuid4().hex[:6]}",
        amqp_url=amqp_url,
        soap_users=",".join(f"{u}:{p}" for u, p in USERS.items()),
        soap_auth="on",
        **({"database_url": database_url} if database_url else {}),
    )
    app = build_application(settings, clock=lambda: CLOCK)
    upgrade(app.engine)
    with ExitStack() as stack:
        stack.callback(app.close)
        wsgi = build_soap_app(app, users=USERS)
        stack.callback(wsgi.health.close)
        server = build_soap_server(settings, wsgi, threads=4, host="127.0.0.1", port=0).start()
        stack.callback(server.stop, grace=5)
        broker = TestBroker(amqp_url)
        stack.callback(broker.close)
        usage_queue = broker.capture(topology.USAGE_EXCHANGE)
        stack.enter_context(relay_running(app))
        stack.enter_context(consumer_running(app))
        yield Border(app, f"{server.url}/soap/clearance", broker, usage_queue)

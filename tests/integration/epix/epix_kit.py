"""A connector beside an EPIX simulator over HTTPS with mutual TLS, both on loopback.

The simulator serves the ePermits of a folder (here the South African export permit of
tests/fixtures/epermit, which the connector does not hold), with certificates made by
``cites_connector.devtools.certificates`` for each test. The connector is Namibia's: SOAP on a
free port, the SQLite ledger migrated, permit lookups routed ``NA=amqp, *=epix`` (the default
once an EPIX URL is set), so an import from South Africa is asked of EPIX and nothing of AMQP.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from cites_connector.adapters.soap.clearance_client import ClearanceClient
from cites_connector.adapters.soap.health import HealthCheck, database_probe
from cites_connector.adapters.sql.migrate import upgrade
from cites_connector.app import Application, build_application
from cites_connector.app.epix_wiring import EPIX
from cites_connector.app.reask_worker import epix_probe
from cites_connector.app.serving import build_soap_app, build_soap_server
from cites_connector.app.settings import load_settings
from cites_connector.devtools.certificates import TestPki, make_test_pki
from cites_connector.devtools.epix_simulator.app import EpixSimulator
from cites_connector.devtools.epix_simulator.server import TlsWsgiServer
from tests.integration.amqp.border.border_kit import Item, imported

EPERMITS = Path(__file__).resolve().parents[2] / "fixtures" / "epermit"
#: 30 grey parrots from South Africa, box 14 endorsed for 24 (tests/fixtures/epermit/README.md)
PARROTS_PERMIT = "26ZA004431"
CLOCK = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
USERS = {"customs": "s3cret:pw"}
TOKEN = "epix-token-NA"


def parrots(count: int, number: str = PARROTS_PERMIT) -> bytes:
    return imported(
        Item(
            "0106320000",
            "live grey parrots",
            "ZA",
            str(count),
            net_mass="9",
            documents=[("C401", number)],
        )
    ).xml()


@dataclass
class Hub:
    simulator: EpixSimulator
    server: TlsWsgiServer
    pki: TestPki

    @property
    def url(self) -> str:
        return self.server.url(self.simulator.path)


def restart(hub: Hub) -> None:
    """The hub back on the port it had (after ``hub.server.stop()``), same simulator."""
    pki = hub.pki
    hub.server = TlsWsgiServer(
        hub.simulator,
        cert=pki.server_cert,
        key=pki.server_key,
        ca=pki.ca,
        host=hub.server.host,
        port=hub.server.port,
    ).start()


@contextmanager
def epix_hub(tmp_path: Path, **options: Any) -> Iterator[Hub]:
    pki = make_test_pki(tmp_path / f"pki-{uuid.uuid4().hex[:6]}")
    folder = tmp_path / "epix-permits"
    folder.mkdir(exist_ok=True)
    shutil.copy(EPERMITS / "26ZA004431-psittacus-box14-v2.xml", folder)
    simulator = EpixSimulator(folder, token=TOKEN, **options)
    server = TlsWsgiServer(
        simulator, cert=pki.server_cert, key=pki.server_key, ca=pki.ca, host="127.0.0.1"
    )
    hub = Hub(simulator, server.start(), pki)
    try:
        yield hub
    finally:
        hub.server.stop()  # the one running now (restart() may have replaced it)


@dataclass
class Connector:
    app: Application
    endpoint: str

    def check(self, declaration_id: str, sad: bytes, version: int = 1) -> dict[str, Any]:
        client = ClearanceClient(f"{self.endpoint}?wsdl", "customs", USERS["customs"], timeout=20)
        return client.check_declaration(declaration_id, version, sad)

    def healthz(self) -> tuple[int, dict[str, Any]]:
        response = requests.get(self.endpoint.replace("/soap/clearance", "/healthz"), timeout=10)
        return response.status_code, response.json()

    def permit(self, number: str = PARROTS_PERMIT, country: str = "ZA"):
        with self.app.ledger.snapshot() as uow:
            return uow.permits.get(number, country)


def epix_settings(tmp_path: Path, hub: Hub, *, rogue: bool = False, **overrides: Any) -> Any:
    pki = hub.pki
    return load_settings(
        home_country="NA",
        data_dir=tmp_path / f"var-{uuid.uuid4().hex[:6]}",
        soap_users=",".join(f"{u}:{p}" for u, p in USERS.items()),
        soap_auth="on",
        lookup_timeout=5.0,
        epix_url=hub.url,
        epix_token=TOKEN,
        epix_client_cert=pki.rogue_cert if rogue else pki.client_cert,
        epix_client_key=pki.rogue_key if rogue else pki.client_key,
        epix_ca_file=pki.ca,
        **overrides,
    )


@contextmanager
def connector(tmp_path: Path, hub: Hub, **overrides: Any) -> Iterator[Connector]:
    """The connector's SOAP service with lookups (EPIX for foreign permits) on loopback."""
    settings = epix_settings(tmp_path, hub, **overrides)
    app = build_application(settings, clock=lambda: CLOCK, ask_permit_system=True)
    upgrade(app.engine)
    with ExitStack() as stack:
        stack.callback(app.close)
        health = HealthCheck([("database", database_probe(app.engine))])
        health.add(EPIX, epix_probe(app), critical=False)  # as serve adds it
        wsgi = build_soap_app(app, users=USERS, health=health)
        stack.callback(wsgi.health.close)
        server = build_soap_server(settings, wsgi, threads=4, host="127.0.0.1", port=0).start()
        stack.callback(server.stop, grace=5)
        yield Connector(app, f"{server.url}/soap/clearance")

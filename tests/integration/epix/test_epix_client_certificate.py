"""EPIX authenticates callers by client certificate: one not signed by the hub's CA ends in
the TLS handshake, and the declaration that needed the permit is held (PERMIT_UNKNOWN),
with the ledger unchanged."""

from __future__ import annotations

import pytest
import requests
from sqlalchemy import func, select

from cites_connector.adapters.epix.client import EpixClient, tls_session
from cites_connector.adapters.epix.errors import EpixUnavailable
from cites_connector.adapters.sql import tables as t
from tests.integration.epix.epix_kit import (
    PARROTS_PERMIT,
    TOKEN,
    connector,
    epix_hub,
    parrots,
    refused_handshakes,
)


def counts(app) -> dict[str, int]:
    with app.engine.connect() as c:
        return {
            table.name: c.execute(select(func.count()).select_from(table)).scalar_one()
            for table in (t.permits, t.usages, t.outbox, t.inbox)
        }


def test_a_client_certificate_from_another_ca_is_refused_in_the_handshake(tmp_path):
    with epix_hub(tmp_path) as hub:
        pki = hub.pki
        rogue = EpixClient(
            hub.url, token=TOKEN, session=tls_session(pki.rogue_cert, pki.rogue_key, pki.ca)
        )
        with pytest.raises(EpixUnavailable) as refused:
            rogue.certificate(PARROTS_PERMIT, "ZA")
        assert "SSL" in refused.value.message or "Connection" in refused.value.message
        # no certificate at all is refused just the same, before any HTTP
        with pytest.raises(requests.exceptions.RequestException):
            requests.post(hub.url, data=b"<x/>", verify=str(pki.ca), timeout=5)
        assert refused_handshakes(hub, 2) >= 2
        assert sum(hub.simulator.calls_received.values()) == 0

        genuine = EpixClient(
            hub.url, token=TOKEN, session=tls_session(pki.client_cert, pki.client_key, pki.ca)
        )
        assert genuine.certificate(PARROTS_PERMIT, "ZA") is not None


def test_with_a_refused_certificate_the_declaration_is_held_and_the_ledger_unchanged(tmp_path):
    with epix_hub(tmp_path) as hub, connector(tmp_path, hub, rogue=True) as running:
        before = counts(running.app)

        result = running.check("WDHA-I-EPIX-4", parrots(24))

        assert result["Decision"] == "HELD"
        [item] = result["Items"]
        assert [r["Code"] for r in item["Reasons"]] == ["PERMIT_UNKNOWN"]
        after = counts(running.app)
        assert after["permits"] == before["permits"] == 0
        assert after["usages"] == 0 and after["inbox"] == 0
        assert sum(hub.simulator.calls_received.values()) == 0
        assert refused_handshakes(hub, 1) >= 1
        assert running.permit() is None

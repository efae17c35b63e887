"""An import declaration citing a foreign permit the connector does not hold: asked of EPIX
(the simulator, over HTTPS with mutual TLS), stored, and decided on through CheckDeclaration."""

from __future__ import annotations

from sqlalchemy import select

from cites_connector.adapters.sql import tables as t
from tests.integration.epix.epix_kit import PARROTS_PERMIT, connector, epix_hub, parrots


def test_an_import_citing_a_permit_held_only_by_epix_clears(tmp_path):
    with epix_hub(tmp_path) as hub, connector(tmp_path, hub) as running:
        assert running.permit() is None

        result = running.check("WDHA-I-EPIX-1", parrots(24))

        assert result["Decision"] == "CLEARED", result
        [item] = result["Items"]
        assert (item["Status"], item["PermitNumber"], item["IssuingCountry"]) == (
            "MATCHED",
            PARROTS_PERMIT,
            "ZA",
        )
        stored = running.permit()
        assert stored is not None and stored.version == 1
        assert (stored.lines[0].quantity, stored.lines[0].remaining) == (30, 6)
        assert hub.simulator.calls_received["GetFinalCitesCertificate"] == 1
        with running.app.engine.connect() as c:
            actors = (
                c.execute(select(t.audit_log.c.actor).where(t.audit_log.c.action.like("permit%")))
                .scalars()
                .all()
            )
        assert "epix" in actors


def test_the_applications_epix_port_reports_reachability(tmp_path):
    from cites_connector.app.epix_wiring import epix_port_of

    with epix_hub(tmp_path) as hub, connector(tmp_path, hub) as running:
        epix = epix_port_of(running.app.clearance.lookup)
        assert epix is not None and epix.last_ok is None
        running.check("WDHA-I-EPIX-5", parrots(24))
        assert epix.last_ok is True

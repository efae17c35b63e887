"""The EPIX lookup port against the simulator over mutual TLS: a Toolkit v1 document in EPIX's
v1 envelope, the non-final fallback, "not found" as an answer, and reachability."""

from __future__ import annotations

import shutil

from cites_connector.adapters.epix.client import EpixClient, tls_session
from cites_connector.adapters.epix.permit_lookup import EpixPermitLookup
from tests.integration.epix.epix_kit import EPERMITS, PARROTS_PERMIT, TOKEN, epix_hub


def port(hub, *, rogue=False, **options) -> EpixPermitLookup:
    pki = hub.pki
    cert, key = (pki.rogue_cert, pki.rogue_key) if rogue else (pki.client_cert, pki.client_key)
    client = EpixClient(hub.url, token=TOKEN, session=tls_session(cert, key, pki.ca))
    return EpixPermitLookup(client, **options)


def test_a_v1_epermit_in_epix_s_v1_envelope_is_read(tmp_path):
    with epix_hub(tmp_path) as hub:
        shutil.copy(EPERMITS / "26NA000152-crocodylus-skins-v1-epix.xml", hub.simulator.permits_dir)
        [(number, answer)] = port(hub).ask([("26NA000152", "NA")], 5.0).items()
        assert number == "26NA000152" and answer.publisher == "epix"
        assert answer.permit is not None and answer.permit.issuing_country == "NA"
        assert [line.line for line in answer.permit.lines] == ["A", "B"]


def test_a_non_final_certificate_is_asked_for_only_when_configured(tmp_path):
    with epix_hub(tmp_path) as hub:
        folder = hub.simulator.permits_dir
        (folder / "26ZA004431-psittacus-box14-v2.xml").rename(folder / "parrots.nonfinal.xml")

        [answer] = port(hub).ask([(PARROTS_PERMIT, "ZA")], 5.0).values()
        assert answer.permit is None  # "not found", which the lookup may remember
        assert hub.simulator.calls_received["GetNonFinalCitesCertificate"] == 0

        [answer] = port(hub, non_final=True).ask([(PARROTS_PERMIT, "ZA")], 5.0).values()
        assert answer.permit is not None and answer.permit.permit_number == PARROTS_PERMIT
        assert hub.simulator.calls_received["GetNonFinalCitesCertificate"] == 1


def test_reachability_follows_the_last_call(tmp_path):
    seen: list[bool] = []
    with epix_hub(tmp_path) as hub:
        good = port(hub, on_reachability=seen.append)
        assert good.last_ok is None
        good.ask([(PARROTS_PERMIT, "ZA")], 5.0)
        assert good.last_ok is True

        refused = port(hub, rogue=True, on_reachability=seen.append)
        assert refused.ask([(PARROTS_PERMIT, "ZA")], 5.0) == {}
        assert refused.last_ok is False
    assert seen == [True, False]


def test_a_question_without_a_country_is_not_sent(tmp_path):
    with epix_hub(tmp_path) as hub:
        assert port(hub).ask([(PARROTS_PERMIT, None)], 5.0) == {}
        assert sum(hub.simulator.calls_received.values()) == 0

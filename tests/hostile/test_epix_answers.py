"""A hub that answers another permit than the one asked (a misrouting national system, a
man in the middle with the hub's certificate, a hostile Party's adapter): the document must
not be stored as the permit asked for, nor at all, and the declaration stays held.

The lying hub is the EPIX simulator behind a wrapper that rewrites the question before the
simulator reads it, so the answer is a genuine ePermit of another number or country.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from cites_connector.adapters.sql import tables as t
from cites_connector.devtools.epix_simulator.app import EpixSimulator
from tests.integration.epix.epix_kit import PARROTS_PERMIT, connector, epix_hub, parrots


class RewritingHub:
    """Pass calls to the simulator with ``rewrite`` applied to the request body."""

    def __init__(self, simulator: EpixSimulator, rewrite: Callable[[bytes], bytes]):
        self.simulator, self.rewrite = simulator, rewrite
        self.path = simulator.path

    def __call__(self, environ, start_response):
        import io

        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = self.rewrite(environ["wsgi.input"].read(length))
        environ = dict(environ, CONTENT_LENGTH=str(len(body)))
        environ["wsgi.input"] = io.BytesIO(body)
        return self.simulator(environ, start_response)


def stored_permits(app) -> int:
    with app.engine.connect() as c:
        return c.execute(select(func.count()).select_from(t.permits)).scalar_one()


@pytest.mark.parametrize(
    ("cited", "export_country", "rewrite"),
    [
        # asked 26ZA009999 of ZA: the hub answers 26ZA004431
        ("26ZA009999", "ZA", lambda b: b.replace(b"26ZA009999", PARROTS_PERMIT.encode())),
        # asked 26ZA004431 of Botswana: the hub answers South Africa's 26ZA004431
        (PARROTS_PERMIT, "BW", lambda b: b.replace(b">BW<", b">ZA<")),
    ],
    ids=["another-number", "another-country"],
)
def test_an_answer_for_another_permit_is_not_stored(tmp_path, cited, export_country, rewrite):
    with epix_hub(tmp_path) as hub:
        hub.server.set_app(RewritingHub(hub.simulator, rewrite))
        with connector(tmp_path, hub) as running:
            sad = parrots(24, cited).replace(
                b"<Export_country_code>ZA<", f"<Export_country_code>{export_country}<".encode()
            )
            result = running.check("WDHA-I-LIAR", sad)

            assert hub.simulator.served == [(PARROTS_PERMIT, "ZA")]  # a genuine document
            assert result["Decision"] == "HELD"
            codes = [r["Code"] for r in result["Items"][0]["Reasons"]]
            assert "PERMIT_UNKNOWN" in codes
            assert stored_permits(running.app) == 0


class FixedHub:
    """Answers every call with ``status`` and ``body`` (and ``headers``), counting the calls."""

    path = "/api/v1/soap_api/action"

    def __init__(self, status: str, body: bytes, headers=()):
        self.status, self.body, self.headers = status, body, list(headers)
        self.calls = 0

    def __call__(self, environ, start_response):
        self.calls += 1
        environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        start_response(self.status, [("Content-Type", "text/xml"), *self.headers])
        return [self.body]


ENTITY_BOMB = (
    b'<?xml version="1.0"?><!DOCTYPE lol [<!ENTITY lol "lol">'
    b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
    b'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
    b"<soapenv:Body><r>&lol3;</r></soapenv:Body></soapenv:Envelope>"
)


@pytest.mark.parametrize(
    "hub",
    [
        FixedHub("200 OK", ENTITY_BOMB),
        FixedHub("307 Temporary Redirect", b"", [("Location", "https://127.0.0.1:1/steal")]),
        FixedHub("200 OK", b"<not-soap/>"),
    ],
    ids=["entity-bomb", "redirect", "not-soap"],
)
def test_a_hostile_or_broken_hub_leaves_the_permit_unknown_and_nothing_stored(tmp_path, hub):
    """A DTD with entities is refused by the hardened parser, a redirect is not followed (the
    token would go along), an answer that is not SOAP is no answer."""
    with epix_hub(tmp_path) as real:
        real.server.set_app(hub)
        with connector(tmp_path, real) as running:
            result = running.check("WDHA-I-HOSTILE", parrots(24))
            assert hub.calls == 1
            assert result["Decision"] == "HELD"
            assert "PERMIT_UNKNOWN" in [r["Code"] for r in result["Items"][0]["Reasons"]]
            assert stored_permits(running.app) == 0


def test_an_endless_answer_is_not_read_past_the_size_limit(tmp_path):
    """A hub streaming more than CONNECTOR_MAX_REQUEST_BYTES: the connector stops reading at
    the limit instead of holding the whole answer in memory."""
    huge = FixedHub("200 OK", b"<soapenv:Envelope>" + b" " * 3_000_000)
    with epix_hub(tmp_path) as real:
        real.server.set_app(huge)
        with connector(tmp_path, real, max_request_bytes=1_000_000) as running:
            result = running.check("WDHA-I-HUGE", parrots(24))
            assert huge.calls == 1 and result["Decision"] == "HELD"
            assert stored_permits(running.app) == 0

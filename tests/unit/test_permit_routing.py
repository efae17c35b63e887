"""Which permit source is asked for which expected issuer (docs/epix.md): the routes read from
CONNECTOR_PERMIT_SOURCES, and the router that hands each question to its source under the
one deadline of contract 3.3 (v2)."""

from __future__ import annotations

import threading
import time

import pytest
from pydantic import ValidationError

from cites_connector.app.epix_wiring import permit_routes
from cites_connector.app.settings import Settings, load_settings
from cites_connector.app.settings_checks import describe
from cites_connector.services.permit_lookup import LookupAnswer, UnknownPermitLookup
from cites_connector.services.permit_routing import PermitRoutes, RoutedPermitLookup

EPIX_URL = "https://epix.example/api/v1/soap_api/action"


class FakeSource:
    """A port that answers "not found" for every number, after ``delay`` seconds."""

    def __init__(self, name: str, delay: float = 0.0):
        self.name, self.delay = name, delay
        self.asked: list[tuple[str, str | None]] = []
        self.lock = threading.Lock()

    def ask(self, queries, timeout):
        with self.lock:
            self.asked += list(queries)
        time.sleep(self.delay)
        return {number: LookupAnswer(None, self.name) for number, _ in queries}


def settings(**values):
    return load_settings(home_country="NA", **values)


def test_without_epix_every_country_is_asked_of_the_permit_system():
    routes = permit_routes(settings())
    assert {routes.source_for(c) for c in ("NA", "ZA", "DE", None)} == {"amqp"}


def test_with_an_epix_url_the_home_country_goes_to_amqp_and_the_others_to_epix():
    routes = permit_routes(settings(epix_url=EPIX_URL))
    assert routes.source_for("NA") == "amqp"
    assert routes.source_for("ZA") == routes.source_for("DE") == "epix"
    assert routes.source_for(None) == "amqp"  # EPIX cannot be asked without a country


def test_permit_sources_route_named_countries_and_the_rest():
    routes = permit_routes(settings(epix_url=EPIX_URL, permit_sources="bw=AMQP, za=epix, *=amqp"))
    assert [routes.source_for(c) for c in ("NA", "BW", "ZA", "DE")] == [
        "amqp",
        "amqp",
        "epix",
        "amqp",
    ]


@pytest.mark.parametrize(
    ("value", "named"),
    [
        ("NA=amqp,ZA", "not COUNTRY=SOURCE"),
        ("XX=epix", "not an ISO country code"),
        ("ZA=carrier-pigeon", "not one of amqp, epix"),
    ],
)
def test_a_bad_permit_sources_value_is_refused_naming_the_setting(monkeypatch, value, named):
    monkeypatch.setenv("CONNECTOR_PERMIT_SOURCES", value)
    with pytest.raises(ValidationError) as refused:
        settings(epix_url=EPIX_URL)
    line = describe(refused.value, Settings, None)
    assert "CONNECTOR_PERMIT_SOURCES" in line and named in line


def test_routing_to_epix_without_its_url_is_refused(monkeypatch):
    monkeypatch.setenv("CONNECTOR_PERMIT_SOURCES", "*=epix")
    with pytest.raises(ValidationError, match="epix_url"):
        settings()


def test_each_question_goes_to_its_issuers_source():
    amqp, epix = FakeSource("permit-system"), FakeSource("epix")
    router = RoutedPermitLookup(
        {"amqp": amqp, "epix": epix}, PermitRoutes(default="epix", by_country={"NA": "amqp"})
    )
    answers = router.ask([("26NA1", "NA"), ("26ZA1", "ZA"), ("26DE1", "DE")], 1.0)
    assert amqp.asked == [("26NA1", "NA")]
    assert sorted(epix.asked) == [("26DE1", "DE"), ("26ZA1", "ZA")]
    assert {n: a.publisher for n, a in answers.items()} == {
        "26NA1": "permit-system",
        "26ZA1": "epix",
        "26DE1": "epix",
    }


def test_sources_are_asked_together_under_one_deadline():
    """Two sources of 0.3 s each answer in about 0.3 s, not 0.6; one slower than the deadline
    is not waited for, and the other's answers are kept."""
    fast = RoutedPermitLookup(
        {"amqp": FakeSource("a", 0.3), "epix": FakeSource("e", 0.3)},
        PermitRoutes(default="epix", by_country={"NA": "amqp"}),
    )
    started = time.monotonic()
    assert len(fast.ask([("1", "NA"), ("2", "ZA")], 2.0)) == 2
    assert time.monotonic() - started < 0.55

    slow = RoutedPermitLookup(
        {"amqp": FakeSource("a"), "epix": FakeSource("e", 3.0)},
        PermitRoutes(default="epix", by_country={"NA": "amqp"}),
    )
    started = time.monotonic()
    answers = slow.ask([("1", "NA"), ("2", "ZA")], 0.5)
    assert time.monotonic() - started < 1.0
    assert set(answers) == {"1"}


def test_the_negative_cache_holds_for_epix_answers_too():
    epix = FakeSource("epix")
    lookup = UnknownPermitLookup(
        RoutedPermitLookup({"amqp": FakeSource("a"), "epix": epix}, PermitRoutes(default="epix")),
        negative_ttl=60,
    )
    lookup.fetch(["26ZA1"], "ZA", lambda *_: None)
    lookup.fetch(["26ZA1"], "ZA", lambda *_: None)
    assert epix.asked == [("26ZA1", "ZA")]


def test_routes_naming_a_source_that_is_not_there_are_refused():
    with pytest.raises(ValueError, match="epix"):
        RoutedPermitLookup({"amqp": FakeSource("a")}, PermitRoutes(default="epix"))

"""A value the database refuses is the input's fault, never an outage (issue 9, item 5).

The permit validation keeps such values out (tests/hostile/test_unstorable_permits.py); this
is the backstop behind it: a permit that reaches the ledger without that validation (a domain
object built by code) and does not fit makes the ledger raise ``UnstorableValue`` (refused
like invalid input, dead-lettered by the consumer), not ``Unavailable`` (waited out forever).
Nothing is written, and the next permit is stored.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from cites_connector.domain.errors import Unavailable, UnstorableValue
from tests.hostile.ledger_dump import ledger_dump
from tests.integration.kit import permit, pythons, services


def _refused(permits, bad) -> UnstorableValue:
    with pytest.raises(UnstorableValue) as refused:
        permits.receive_permit(bad, message_id="bad")
    assert not isinstance(refused.value, Unavailable)
    return refused.value


def test_a_quantity_beyond_64_bits_is_refused_as_unstorable(sql_ledger):
    _, permits = services(sql_ledger)
    before = ledger_dump(sql_ledger.engine)
    refused = _refused(permits, permit("P1", pythons(Decimal("99999999999999"))))
    assert "too large" in refused.message or "out of range" in refused.message
    assert "permit_lines" not in refused.message  # no table names in what callers see
    assert ledger_dump(sql_ledger.engine) == before
    assert permits.receive_permit(permit("P2"), message_id="good").applied.applied


@pytest.mark.postgres
def test_a_taxon_longer_than_its_column_is_refused_as_unstorable_on_postgresql(postgres_url):
    from cites_connector.adapters.sql.engine import make_engine
    from cites_connector.adapters.sql.ledger import SqlAlchemyLedger
    from cites_connector.adapters.sql.migrate import upgrade

    engine = make_engine(postgres_url)
    upgrade(engine)
    try:
        ledger = SqlAlchemyLedger(engine)
        _, permits = services(ledger)
        before = ledger_dump(engine)
        long_taxon = permit("P1", replace(pythons(40), taxon="P" * 255))
        refused = _refused(permits, long_taxon)
        assert refused.message == (
            "a value is too long or out of range for the ledger: "
            "value too long for type character varying(200)"
        )
        assert ledger_dump(engine) == before
        assert permits.receive_permit(permit("P2"), message_id="good").applied.applied
    finally:
        engine.dispose()

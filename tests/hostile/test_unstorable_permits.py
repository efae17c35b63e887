"""Issue 9, item 5: a wedged consumer (contract 3.1 (v2), "Field limits").

A taxon of 201 to 255 characters passed validation but not the ``VARCHAR(200)`` column:
PostgreSQL refused the row, the refusal was taken for an outage, the message was retried
forever and every later permit waited behind it. Now each value over a limit is refused by
the validation, which reads the same limits as the tables, naming the field; the message is
dead-lettered and the next permit is applied. On SQLite (which stores any length) and on
PostgreSQL, through the real broker, as the trusted permit system: these are the permit
system's own mistakes, not forgeries.
"""

from __future__ import annotations

import string
from itertools import product

import pytest

from tests.hostile.amqp_attacks import as_json, python_permit, world
from tests.integration.amqp.amqp_kit import EPERMITS

pytestmark = pytest.mark.rabbitmq


@pytest.fixture(params=["sqlite", "postgres"])
def database(request) -> dict:
    if request.param == "sqlite":
        return {}
    return {"database_url": request.getfixturevalue("postgres_url")}


def _line(**changes) -> dict:
    line = dict(python_permit()["lines"][0])
    line.update(changes)
    return line


def _letters(count: int) -> list[str]:
    """Line letters A..Z, AA..ZZ, AAA..: as many as asked."""
    found: list[str] = []
    for size in (1, 2, 3):
        for letters in product(string.ascii_uppercase, repeat=size):
            found.append("".join(letters))
            if len(found) == count:
                return found
    raise ValueError(count)


def _lines(count: int) -> list[dict]:
    return [_line(line=letter, quantity="1") for letter in _letters(count)]


SUBJECT = "permit 26NA000123: "
OVER_LIMITS = {
    "permit-number-65": (
        python_permit(permit_number="26NA" + "0" * 61),
        "invalid permit: permit_number: must be at most 64 characters (got 65)",
    ),
    "taxon-201": (
        python_permit(lines=[_line(taxon="Python " + "r" * 194)]),
        SUBJECT + "lines[0].taxon (line A): must be at most 200 characters (got 201)",
    ),
    "taxon-255": (
        python_permit(lines=[_line(taxon="Python " + "r" * 248)]),
        SUBJECT + "lines[0].taxon (line A): must be at most 200 characters (got 255)",
    ),
    "exporter-name-201": (
        python_permit(exporter={"name": "O" * 201, "country": "NA", "id": "NA-EXP-0042"}),
        SUBJECT + "exporter.name: must be at most 200 characters (got 201)",
    ),
    "importer-id-201": (
        python_permit(importer={"name": "Terrarium Handel GmbH", "country": "DE", "id": "D" * 201}),
        SUBJECT + "importer.id: must be at most 200 characters (got 201)",
    ),
    "description-1001": (
        python_permit(lines=[_line(description="d" * 1001)]),
        SUBJECT + "lines[0].description (line A): must be at most 1000 characters (got 1001)",
    ),
    "lines-10001": (
        python_permit(lines=_lines(10_001)),
        SUBJECT + "lines: must have at most 10000 lines (got 10001)",
    ),
    "quantity-16-digits": (
        python_permit(lines=[_line(quantity="1" * 16)]),
        SUBJECT + "lines[0].quantity (line A): must have at most 15 digits before the point",
    ),
    "quantity-7-decimals": (
        python_permit(lines=[_line(quantity="40.0000001")]),
        SUBJECT + "lines[0].quantity (line A): must have at most 6 decimal places",
    ),
    "quantity-over-the-ledger": (
        python_permit(lines=[_line(quantity="99999999999999")]),
        SUBJECT + "lines[0].quantity (line A): '99999999999999' is more than the ledger can "
        "hold (9223372036854.775807)",
    ),
}


def test_values_over_the_limits_are_dead_lettered_naming_the_field_and_the_next_permit_applies(
    tmp_path, amqp_url, database
):
    with world(tmp_path, amqp_url, **database) as w:
        before = w.dump()
        for message_id, (body, _) in OVER_LIMITS.items():
            w.broker.publish("permit.issued", body, message_id=message_id)
        xml = (EPERMITS / "26NA000123-python-regius-export-v2.xml").read_bytes()
        w.broker.publish(
            "permit.issued",
            xml.replace(b">Python regius<", b">" + b"P" * 201 + b"<", 1),
            message_id="epermit-taxon-201",
            content_type="application/xml",
            headers={"permit-version": 1},
        )

        for message_id, (_, reason) in OVER_LIMITS.items():
            assert w.reason(message_id) == reason, message_id
        assert w.reason("epermit-taxon-201").endswith(
            "(line A): must be at most 200 characters (got 201)"
        )
        assert "lines[0].taxon (CITESEPermit/" in w.reason("epermit-taxon-201")
        assert w.dump() == before

        # the consumer is not wedged: the next permit is applied
        w.broker.publish("permit.issued", python_permit(), message_id="valid")
        w.applied("valid")
        assert w.permit().lines[0].taxon == "Python regius"


def test_values_at_the_limits_are_stored(tmp_path, amqp_url, database):
    """The limits are the contract's, not lower: what fits is accepted and kept whole."""
    longest = python_permit(
        permit_number="26NA" + "1" * 60,
        exporter={"name": "O" * 200, "country": "NA", "id": "E" * 200},
        lines=[
            _line(
                taxon="Python " + "r" * 193, description="d" * 1000, quantity="9223372036854.775807"
            )
        ],
    )
    with world(tmp_path, amqp_url, **database) as w:
        w.broker.publish("permit.issued", as_json(longest), message_id="longest")
        w.applied("longest")
        stored = w.permit("26NA" + "1" * 60)
        assert len(stored.lines[0].taxon) == 200 and len(stored.exporter.name) == 200
        assert str(stored.lines[0].quantity) == "9223372036854.775807"
        assert w.no_dead_letters()

"""Issue 13, item 5: forged and badly signed ePermits on ``cites.permits`` (docs/signatures.md).

Each document is handed to the permit consumer's handler (adapters/amqp/permit_handler.py) as
the permit system's own message, so the publisher check passes and only the signature stands
between the document and the ledger: a real SQLite ledger, migrated, with the South African
Management Authority's certificate in the trust store. Each refusal is the dead-letter verdict
with its reason, and the ledger is unchanged; the broker's part (the copy on ``cites.dlx``) is
tests/hostile/test_epermit_signatures_amqp.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pika
import pytest
from pika.spec import Basic

from cites_connector.adapters.amqp.consumer_watch import ConsumerWatch
from cites_connector.adapters.amqp.permit_handler import (
    Ack,
    HandlerConfig,
    PermitHandler,
    Reject,
    Verdict,
)
from cites_connector.adapters.epermit_trust import signature_rules
from cites_connector.adapters.outbox.backoff import Backoff
from cites_connector.adapters.sql.delivery_attempts import SqlDeliveryAttempts
from cites_connector.adapters.sql.migrate import upgrade
from cites_connector.app import Application, build_application
from cites_connector.app.settings import load_settings
from cites_connector.devtools.epermit_signing import Authority, make_authority
from tests.hostile.ledger_dump import ledger_dump
from tests.signing import (
    PARROTS_COUNTRY,
    PARROTS_NUMBER,
    altered,
    parrots,
    rsa_authority,
    sha1_signed,
    signature_moved_into_forgery,
    signed,
    wrapped_inside_forgery,
    wrapped_next_to_forgery,
)


@dataclass
class World:
    app: Application
    handler: PermitHandler
    authority: Authority
    sent: int = 0

    def deliver(self, body: bytes) -> Verdict:
        self.sent += 1
        method = Basic.Deliver(routing_key="permit.issued", redelivered=False)
        properties = pika.BasicProperties(
            content_type="application/xml",
            headers={"permit-version": 1},
            message_id=f"m-{self.sent}",
            user_id="permit-system",
        )
        return self.handler.handle(method, properties, body, ConsumerWatch(), lambda _: True)

    def dump(self):
        return ledger_dump(self.app.engine)

    def permit(self):
        with self.app.ledger.snapshot() as uow:
            return uow.permits.get(PARROTS_NUMBER, PARROTS_COUNTRY)


@contextmanager
def world(tmp_path: Path, policy: str) -> Iterator[World]:
    authority = rsa_authority(2048)  # RSA, so that a SHA-1 signature can be made with it
    trust = tmp_path / "trust"
    authority.write(trust / "ZA.pem")
    settings = load_settings(
        home_country="NA",
        data_dir=tmp_path / "var",
        epermit_signatures=policy,
        epermit_trust_dir=trust,
    )
    app = build_application(settings)
    upgrade(app.engine)
    config = HandlerConfig(
        frozenset({"permit-system"}),
        settings.max_request_bytes,
        5,
        Backoff(initial=0.01, maximum=0.01),
        signature_rules(settings.epermit_signatures, settings.effective_trust_dir),
    )
    handler = PermitHandler(app.permits, SqlDeliveryAttempts.for_ledger(app.ledger), config)
    try:
        yield World(app, handler, authority)
    finally:
        app.close()


ATTACKS = {
    "altered after signing": lambda za: altered(signed(za)),
    "signed by a key not in the trust store": lambda za: signed(make_authority("ZA")),
    "SHA-1": sha1_signed,
    "short RSA key": lambda za: signed(rsa_authority(1024)),
    "signed element next to a forged one": lambda za: wrapped_next_to_forgery(signed(za)),
    "signed element inside a forged one": lambda za: wrapped_inside_forgery(signed(za)),
    "signature moved onto a forgery": lambda za: signature_moved_into_forgery(signed(za)),
}


@pytest.mark.parametrize("attack", ATTACKS, ids=list(ATTACKS))
@pytest.mark.parametrize("policy", ["require", "verify"])
def test_a_badly_signed_epermit_is_dead_lettered_and_the_ledger_unchanged(tmp_path, policy, attack):
    with world(tmp_path, policy) as w:
        before = w.dump()
        verdict = w.deliver(ATTACKS[attack](w.authority))
        assert isinstance(verdict, Reject)
        assert verdict.reason == "SIGNATURE_INVALID", verdict
        assert verdict.detail
        assert w.dump() == before
        assert w.permit() is None


def test_an_unsigned_epermit_is_refused_under_require(tmp_path):
    with world(tmp_path, "require") as w:
        before = w.dump()
        verdict = w.deliver(parrots())
        assert isinstance(verdict, Reject)
        assert verdict.reason == "SIGNATURE_MISSING"
        assert w.dump() == before


def test_an_unsigned_epermit_is_stored_as_unsigned_under_verify(tmp_path):
    with world(tmp_path, "verify") as w:
        assert isinstance(w.deliver(parrots()), Ack)
        permit = w.permit()
        assert permit is not None
        assert permit.unsigned and permit.signer is None


@pytest.mark.parametrize("policy", ["require", "verify"])
def test_a_validly_signed_epermit_is_stored_with_its_signer(tmp_path, policy):
    with world(tmp_path, policy) as w:
        assert isinstance(w.deliver(signed(w.authority)), Ack)
        permit = w.permit()
        assert permit is not None
        assert permit.signer == "CN=Management Authority of South Africa, C=ZA"
        assert not permit.unsigned
        assert permit.lines[0].quantity == 30


def test_policy_off_stores_even_an_altered_document(tmp_path):
    """The administration's choice, documented: ``off`` looks at no signature."""
    with world(tmp_path, "off") as w:
        assert isinstance(w.deliver(altered(signed(w.authority))), Ack)
        permit = w.permit()
        assert permit is not None
        assert permit.signer is None and not permit.unsigned

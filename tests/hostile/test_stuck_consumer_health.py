"""Issue 9, item 5 (health) and item 7 (dead letters in view): ``/healthz`` of a running
``cites-connector serve`` tells when the permit consumer is stuck, and shows the dead letters.

Before, a consumer stuck on one message (a database refusal taken for an outage) left every
later permit waiting while ``/healthz`` said 200. Here the ledger (PostgreSQL) holds a lock
the consumer's transaction needs, so the consumer sits on one valid permit: ``/healthz`` must
answer 503 naming the consumer and the message, and 200 again once it moves on. A dead letter
is reported in the body without making the answer 503: the connector refused a message on
purpose and named why; an operator has something to look at.
"""

from __future__ import annotations

import signal

import pytest
import requests
from sqlalchemy import create_engine, text

from tests.hostile.amqp_attacks import python_permit
from tests.integration.amqp.amqp_kit import (
    TestBroker,
    make_app,
    serve_env,
    start_serve,
    stored_permit,
    wait_for,
)

pytestmark = [pytest.mark.rabbitmq, pytest.mark.postgres]


def health(url: str) -> tuple[int, dict] | None:
    try:
        response = requests.get(f"{url}/healthz", timeout=5)
    except requests.ConnectionError:
        return None
    return response.status_code, response.json()


def test_healthz_names_a_stuck_consumer_and_shows_the_dead_letters(
    tmp_path, amqp_url, postgres_url
):
    app = make_app(tmp_path, amqp_url, database_url=postgres_url)  # migrated
    broker = TestBroker(amqp_url)
    env = serve_env(
        tmp_path, amqp_url, CONNECTOR_DATABASE_URL=postgres_url, CONNECTOR_AMQP_STUCK_SECONDS="2"
    )
    url = f"http://127.0.0.1:{env['CONNECTOR_SOAP_PORT']}"
    serve = start_serve(env, tmp_path / "serve.log")
    locker = create_engine(postgres_url).connect()
    try:
        wait_for(lambda: (h := health(url)) and h[0] == 200, 30, "serve healthy")

        broker.publish(
            "permit.issued", python_permit(permit_number="X" * 65), message_id="over-long"
        )
        found = wait_for(
            lambda: (h := health(url)) and h[1]["checks"].get("dead-letters") == "1 waiting" and h,
            20,
            "the dead letter in /healthz",
        )
        assert found[0] == 200 and found[1]["status"] == "ok"

        locker.begin()
        locker.execute(text("LOCK TABLE permits IN ACCESS EXCLUSIVE MODE"))
        broker.publish("permit.issued", python_permit(), message_id="waits-for-the-lock")
        stuck = wait_for(
            lambda: (h := health(url)) and h[0] == 503 and h,
            20,
            "/healthz 503 while the consumer is stuck",
        )
        assert stuck[1]["checks"]["permit-consumer"] == "stuck"
        # which message holds it up is for the log, not for /healthz (no internals there)
        log = (tmp_path / "serve.log").read_text()
        assert "permit consumer 0 is stuck" in log and "waits-for-the-lock" in log
        assert stuck[1]["checks"]["database"] == "ok"

        locker.rollback()  # the lock goes: the consumer moves on
        wait_for(lambda: stored_permit(app, "26NA000123"), 20, "the permit applied")
        wait_for(lambda: (h := health(url)) and h[0] == 200, 20, "/healthz 200 again")
    finally:
        locker.close()
        serve.send_signal(signal.SIGTERM)
        serve.wait(30)
        broker.close()
        app.close()

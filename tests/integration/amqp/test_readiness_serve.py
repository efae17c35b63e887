"""Issue 14, item 5: /readyz of a running ``serve`` says 503 while its database is out of
reach or its permit consumer is stuck, and 200 again once they recover; /livez stays 200
throughout (nothing a restart would fix); no answer names a host, a port or a user.

The database (PostgreSQL) is taken away for real: connections to it are refused
(``ALLOW_CONNECTIONS false``) and the ones open are ended. The consumer is made stuck as in the
/healthz test: a lock its transaction needs is held while a valid permit waits.
"""

from __future__ import annotations

import signal

import pytest
from sqlalchemy import create_engine, make_url, text

from tests.hostile.amqp_attacks import python_permit
from tests.integration.amqp.amqp_kit import (
    TestBroker,
    make_app,
    serve_env,
    start_serve,
    stored_permit,
    wait_for,
)
from tests.integration.amqp.metrics_kit import answer, scrape, value

pytestmark = [pytest.mark.rabbitmq, pytest.mark.postgres]


def status(url: str, path: str) -> int | None:
    found = answer(url, path)
    return found[0] if found else None


def secrets_of(postgres_url: str, amqp_url: str, port: str) -> list[str]:
    """What no health answer may show: hosts, ports and user names of the database and the
    broker, and the SOAP port."""
    db, broker = make_url(postgres_url), make_url(amqp_url.replace("amqp://", "postgresql://"))
    return [
        str(v)
        for v in (db.host, db.port, db.username, db.database, broker.port, broker.username, port)
        if v
    ]


def test_readyz_follows_the_database_and_the_consumer_and_livez_stays_200(
    tmp_path, amqp_url, postgres_url
):
    app = make_app(tmp_path, amqp_url, database_url=postgres_url)  # migrated
    broker = TestBroker(amqp_url)
    env = serve_env(
        tmp_path, amqp_url, CONNECTOR_DATABASE_URL=postgres_url, CONNECTOR_AMQP_STUCK_SECONDS="2"
    )
    url = f"http://127.0.0.1:{env['CONNECTOR_SOAP_PORT']}"
    name = make_url(postgres_url).database
    admin = create_engine(
        make_url(postgres_url).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )
    serve = start_serve(env, tmp_path / "serve.log")
    locker = None
    hidden = secrets_of(postgres_url, amqp_url, env["CONNECTOR_SOAP_PORT"])
    try:
        wait_for(lambda: status(url, "/readyz") == 200, 30, "serve ready")

        # the database goes away
        with admin.connect() as c:
            c.execute(text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false'))
            c.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            )
        down = wait_for(
            lambda: (a := answer(url, "/readyz")) and a[0] == 503 and a, 20, "/readyz 503"
        )
        assert down[1]["status"] == "not ready"
        assert down[1]["checks"]["database"] == "down"
        assert down[1]["checks"]["broker"] == "ok" and down[1]["checks"]["consumer"] == "ok"
        live = answer(url, "/livez")
        assert live is not None and live[0] == 200 and live[1]["status"] == "alive"
        assert status(url, "/healthz") == 503
        # /metrics still answers: what the process counted, without the database's gauges
        during = scrape(url)
        assert "cites_connector_build_info" in during
        assert "cites_connector_held_declarations" not in during
        for path in ("/readyz", "/livez", "/healthz"):
            body = str(answer(url, path))
            assert not [s for s in hidden if s in body], (path, body)

        # and comes back
        with admin.connect() as c:
            c.execute(text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true'))
        wait_for(lambda: status(url, "/readyz") == 200, 30, "/readyz 200 again")
        assert value(scrape(url), "cites_connector_held_declarations") == 0

        # the consumer gets stuck on a lock its transaction needs
        locker = create_engine(postgres_url).connect()
        locker.begin()
        locker.execute(text("LOCK TABLE permits IN ACCESS EXCLUSIVE MODE"))
        broker.publish("permit.issued", python_permit(), message_id="waits-for-the-lock")
        stuck = wait_for(
            lambda: (a := answer(url, "/readyz")) and a[0] == 503 and a, 20, "/readyz 503"
        )
        assert stuck[1]["checks"] == {
            "database": "ok",
            "broker": "ok",
            "consumer": "stuck",
            "outbox-amqp": "ok",
        }
        assert status(url, "/livez") == 200
        gauge = scrape(url)["cites_connector_permit_consumer_stuck"]
        assert gauge == {frozenset({("consumer", "permit-consumer-0")}): 1.0}

        locker.rollback()  # the lock goes: the consumer moves on
        wait_for(lambda: stored_permit(app, "26NA000123"), 20, "the permit applied")
        wait_for(lambda: status(url, "/readyz") == 200, 20, "/readyz 200 again")
        assert (
            value(
                scrape(url), "cites_connector_permit_consumer_stuck", consumer="permit-consumer-0"
            )
            == 0
        )
    finally:
        if locker is not None:
            locker.close()
        with admin.connect() as c:
            c.execute(text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true'))
        admin.dispose()
        serve.send_signal(signal.SIGTERM)
        serve.wait(30)
        broker.close()
        app.close()

"""Fixtures of the deployment kit's tests: throwaway TLS certificates, the test broker and
fresh PostgreSQL databases (scripts/test.sh starts the servers)."""

from __future__ import annotations

import os
import uuid

import pytest

from tests.deploy.tls import TestPki, make_pki
from tests.deploy.tools import debian_tool, unavailable


@pytest.fixture(scope="session")
def pki(tmp_path_factory) -> TestPki:
    openssl = debian_tool("openssl", "openssl")
    return make_pki(tmp_path_factory.mktemp("pki"), openssl)


@pytest.fixture(scope="session")
def rabbitmq_connector_url() -> str:
    """The shared test broker (scripts/test.sh) as the connector's own user."""
    url = os.environ.get("RABBITMQ_CONNECTOR_URL")
    if not url:
        unavailable(
            "no RabbitMQ loaded with the definitions: run scripts/test.sh (RABBITMQ_CONNECTOR_URL)"
        )
    return url


@pytest.fixture
def fresh_postgres_database():
    """Makes empty databases on the test server (scripts/test.sh); drops them afterwards."""
    base = os.environ.get("CONNECTOR_TEST_POSTGRES_URL")
    if not base:
        unavailable("no PostgreSQL server: run scripts/test.sh (CONNECTOR_TEST_POSTGRES_URL)")
    import psycopg
    from sqlalchemy.engine import make_url

    admin_url = make_url(base)
    libpq = admin_url.set(drivername="postgresql").render_as_string(hide_password=False)
    made: list[str] = []

    def make() -> str:
        name = f"cites_deploy_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(libpq, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        made.append(name)
        return admin_url.set(database=name).render_as_string(hide_password=False)

    yield make
    with psycopg.connect(libpq, autocommit=True) as conn:
        for name in made:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

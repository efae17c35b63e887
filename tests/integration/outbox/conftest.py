"""Fixtures of the outbox tests: the real RabbitMQ of the AMQP tests (a virtual host per test)
for the fault tests, beside the SQLite and PostgreSQL ledgers of tests/conftest.py."""

from tests.integration.amqp.conftest import (  # noqa: F401 - fixtures shared with the AMQP tests
    amqp_admin_url,
    amqp_url,
    rabbit_node,
)

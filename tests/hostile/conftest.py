"""Fixtures of the hostile tests: the real RabbitMQ of the AMQP tests (a virtual host per test,
provisioned from the shipped definitions file) and ledgers on SQLite and PostgreSQL."""

from tests.integration.amqp.conftest import (  # noqa: F401 - fixtures shared with the AMQP tests
    amqp_admin_url,
    amqp_url,
    permit_system_url,
    rabbit_node,
)
from tests.integration.customs.conftest import start_simulator  # noqa: F401 - fixture

"""A running connector per test (border_kit.py): SQLite by default, PostgreSQL on request."""

from __future__ import annotations

import pytest

from tests.integration.amqp.border.border_kit import border


@pytest.fixture
def world(tmp_path, amqp_url):
    with border(tmp_path, amqp_url) as running:
        yield running


@pytest.fixture
def postgres_world(tmp_path, amqp_url, postgres_url):
    with border(tmp_path, amqp_url, database_url=postgres_url) as running:
        yield running

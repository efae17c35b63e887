"""The customs simulator served by waitress on a free loopback port, for the callback tests."""

from __future__ import annotations

import pytest

from cites_connector.devtools.customs_simulator.app import CustomsSimulator
from cites_connector.devtools.customs_simulator.recorder import MemoryCallRecorder, open_recorder
from cites_connector.devtools.customs_simulator.server import BackgroundServer
from tests.integration.customs.customs_kit import PASSWORD, USER


@pytest.fixture
def start_simulator():
    """``start_simulator(**options)`` -> the running simulator app and its endpoint URL."""
    servers = []

    def start(record=None, users=None, **options):
        recorder = open_recorder(record) if record else MemoryCallRecorder()
        app = CustomsSimulator(
            recorder, users={USER: PASSWORD} if users is None else users, **options
        )
        server = BackgroundServer(app).start()
        servers.append(server)
        return app, server.url(app.path)

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def simulator(start_simulator):
    return start_simulator()

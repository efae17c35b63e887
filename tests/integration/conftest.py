"""Fixtures shared by the integration tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from click.testing import CliRunner, Result

from cites_connector.cli.main import cli


@pytest.fixture
def run(tmp_path, monkeypatch) -> Callable[..., Result]:
    """The CLI in this process on a fresh, migrated SQLite ledger of home country NA (a test
    module that needs another setup defines its own ``run``, which takes precedence)."""
    monkeypatch.setenv("CONNECTOR_HOME_COUNTRY", "NA")
    monkeypatch.setenv("CONNECTOR_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("CONNECTOR_LOGGING__LEVEL", "WARNING")
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(cli, list(args), catch_exceptions=False)

    assert invoke("migrate").exit_code == 0
    return invoke

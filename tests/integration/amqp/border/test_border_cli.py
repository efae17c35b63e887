"""An administrator's trade suspension reaches the border (contract 5.1, 7): ``cites-connector
suspensions add|remove`` run as a separate process on the running connector's database, the
declaration checked over SOAP between the two."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from cites_connector.cli.actor import os_account
from tests.integration.amqp.amqp_kit import sample_permits, serve_command
from tests.integration.amqp.border.border_kit import Item, Sad, reasons, usages

pytestmark = pytest.mark.rabbitmq

NOTIFICATION = "CITES Notif. No. 2026/131"


def cli(world, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "CONNECTOR_HOME_COUNTRY": "NA",
        "CONNECTOR_DATA_DIR": str(world.app.settings.data_dir),
        "CONNECTOR_HS_ROLES": json.dumps({os_account(): "editor"}),
        "CONNECTOR_LOGGING__LEVEL": "WARNING",
    }
    env.pop("CONNECTOR_DATABASE_URL", None)
    return subprocess.run(
        [*serve_command(), *args], env=env, capture_output=True, text=True, timeout=60
    )


def pythons() -> Sad:
    return Sad(
        [
            Item(
                "0106200000",
                "live royal pythons",
                "NA",
                "40",
                net_mass="20",
                documents=[("C400", "26NA000123")],
            )
        ]
    )


def test_a_suspension_added_by_the_cli_holds_the_export_until_it_is_removed(world):
    world.publish(sample_permits()[0])  # 26NA000123: 40 live Python regius, NA -> DE

    added = cli(
        world,
        "suspensions",
        "add",
        "--country",
        "NA",
        "--flow",
        "EXPORT",
        "--taxon",
        "Pythonidae",
        "--starts-on",
        "2026-11-01",
        "--notification",
        NOTIFICATION,
        "--reason",
        "Standing Committee recommendation",
    )
    assert added.returncode == 0, added.stderr
    assert added.stdout.startswith("suspension 1 added")

    held = world.check("WDHA-E-SUS-1", pythons())
    assert held["Decision"] == "HELD"
    [item] = held["Items"]
    assert reasons(item) == ["TRADE_SUSPENDED"]
    assert NOTIFICATION in item["Reasons"][0]["Message"]
    assert usages(world, "26NA000123", "NA") == []
    assert world.balance("26NA000123", "NA")["Lines"][0]["Remaining"] == 40

    bad = cli(world, "suspensions", "remove", "one", "--reason", "typo")
    assert bad.returncode == 2, bad.stderr
    removed = cli(world, "suspensions", "remove", "1", "--reason", "recommendation withdrawn")
    assert removed.returncode == 0, removed.stderr
    again = cli(world, "suspensions", "remove", "1", "--reason", "twice")
    assert again.returncode == 1 and "no suspension 1" in again.stderr

    cleared = world.check("WDHA-E-SUS-1", pythons(), version=2)
    assert cleared["Decision"] == "CLEARED"
    assert reasons(cleared["Items"][0]) == []
    assert usages(world, "26NA000123", "NA") == [("WDHA-E-SUS-1", "40")]

"""deploy/config/production.toml and deploy/env.example: the connector loads them, and every
setting they set is one the connector actually reads (a key it ignored would be a silent
misconfiguration: the settings ignore unknown keys). Through the real command only."""

from __future__ import annotations

import re
import tomllib

from tests.deploy.serving import env_file_values
from tests.deploy.tools import DEPLOY, ROOT, connector_command, connector_env, run

PRODUCTION = DEPLOY / "config" / "production.toml"
ENV_EXAMPLE = DEPLOY / "env.example"
README = ROOT / "README.md"
#: variables of env.example that are not the connector's: libpq's and the backup scripts'
OTHER_VARIABLES = {"PGPASSWORD", "PG_BIN"}


def poisoned(settings: dict) -> tuple[str, list[str]]:
    """A copy of the settings with every value replaced by one of the wrong type, and the
    dotted names of what was replaced."""
    lines, names, tables = [], [], []
    for key, value in settings.items():
        if isinstance(value, dict):
            tables.append((key, value))
        else:
            lines.append(
                f"{key} = []" if isinstance(value, list) else f"{key} = {{ poisoned = 1 }}"
            )
            names.append(key)
    for table, values in tables:
        lines.append(f"[{table}]")
        for key in values:
            lines.append(f"{key} = {{ poisoned = 1 }}")
            names.append(f"{table}.{key}")
    return "\n".join(lines) + "\n", names


def test_every_key_of_the_production_example_is_read_by_the_connector(tmp_path):
    """Each key set to a value of the wrong type must be refused by name (exit 2); a key the
    connector does not know would pass unnoticed."""
    settings = tomllib.loads(PRODUCTION.read_text())
    text, names = poisoned(settings)
    config = tmp_path / "poisoned.toml"
    config.write_text(text)
    refused = run(
        [connector_command(), "--config", str(config), "permits", "show", "X"], connector_env()
    )
    assert refused.returncode == 2, refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr  # one line
    reported = set(re.findall(r"\(TOML key ([a-z_]+(?:\.[A-Za-z_]+)?)\)", refused.stderr))
    assert set(names) - reported == set(), "keys the connector does not read"


def test_the_production_example_loads_migrates_and_verifies(tmp_path):
    """As it stands, with only the host-specific values replaced by the environment."""
    env = connector_env(
        CONNECTOR_CONFIG=str(PRODUCTION),
        CONNECTOR_DATA_DIR=str(tmp_path),
        CONNECTOR_DATABASE_URL=f"sqlite:///{tmp_path / 'connector.sqlite3'}",
        CONNECTOR_AUDIT_KEY_FILE=str(tmp_path / "audit.key"),
    )
    migrated = run([connector_command(), "migrate"], env)
    assert migrated.returncode == 0, migrated.stderr
    verified = run([connector_command(), "audit", "verify"], env)
    assert verified.returncode == 0, verified.stderr


def test_the_production_example_keeps_secrets_out_and_uses_tls():
    settings = tomllib.loads(PRODUCTION.read_text())
    for secret in ("soap_users", "customs_password", "dlq_replay_url", "speciesplus_token"):
        assert secret not in settings, f"{secret} belongs in the environment file"
    assert "sslmode=verify-full" in settings["database_url"]
    assert (
        "@" in settings["database_url"]
        and ":" not in settings["database_url"].split("//")[1].split("@")[0]
    ), "no password in the database URL"
    assert settings["amqp_url"].startswith("amqps://")
    assert "'ca_certs'" in settings["amqp_url"] and "'server_hostname'" in settings["amqp_url"]
    assert settings["customs_url"].startswith("https://")
    assert settings["customs_allow_http"] is False
    assert settings["soap_host"] == "127.0.0.1" and settings["soap_public_url"].startswith(
        "https://"
    )


def test_the_planned_settings_are_commented_out_and_marked():
    text = PRODUCTION.read_text()
    for planned in ("designated_offices", "foreign_permit_months", "console_port"):
        assert re.search(rf"^# {planned} = ", text, re.M), planned
        assert planned not in tomllib.loads(text)
    assert text.count("PLANNED") >= 2


def readme_variables() -> set[str]:
    """CONNECTOR_* names of the README, with the table's shorthand expanded
    (`CONNECTOR_CUSTOMS_URL`, `_USER`, `_PASSWORD`)."""
    names = set()
    for line in README.read_text().splitlines():
        found = re.findall(r"`(CONNECTOR_[A-Z0-9_]+)", line)
        names.update(found)
        if found:
            stem = found[0].rsplit("_", 1)[0]
            names.update(stem + short for short in re.findall(r"`(_[A-Z0-9_]+)`", line))
    return names


def test_env_example_names_only_settings_of_the_readme():
    documented = readme_variables()
    values = env_file_values(ENV_EXAMPLE)
    assert values, "env.example sets nothing"
    commented = set(re.findall(r"^# (CONNECTOR_[A-Z0-9_]+)=", ENV_EXAMPLE.read_text(), re.M))
    for name in set(values) | commented:
        assert name in documented or name in OTHER_VARIABLES, f"{name} is not a setting"
    assert values["CONNECTOR_AMQP_URL"].startswith("amqps://connector:")
    assert "ssl_options={'ca_certs':" in values["CONNECTOR_AMQP_URL"]
    assert all(
        "CHANGE-ME" in values[k]
        for k in ("PGPASSWORD", "CONNECTOR_SOAP_USERS", "CONNECTOR_CUSTOMS_PASSWORD")
    )

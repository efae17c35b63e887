"""``cites-connector config check`` (issue 14, item 3): the settings in force with every secret
masked, and one verdict line per dependency; exit 3 when one is out of reach or the ledger not
migrated, 2 when a setting is wrong. The all-fine case, with a real broker, is in
tests/integration/amqp/test_config_check_all_fine.py.
"""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner, Result

from cites_connector.cli.main import cli

SECRETS = ("dbpass1", "amqppass2", "soappass3", "soappass4", "custpass5", "replaypass6", "tok7")


def check(tmp_path: Path, **env: str) -> Result:
    key = tmp_path / "audit.key"
    key.write_bytes(b"k" * 32)
    base = {
        "CONNECTOR_HOME_COUNTRY": "NA",
        "CONNECTOR_DATA_DIR": str(tmp_path / "var"),
        "CONNECTOR_AMQP_URL": "amqp://connector:amqppass2@127.0.0.1:1/%2F",
        "CONNECTOR_SOAP_USERS": "customs:soappass3",
        "CONNECTOR_AUDIT_KEY_FILE": str(key),
    }
    return CliRunner().invoke(cli, ["config", "check"], env=base | env)


def verdicts(result: Result) -> dict[str, str]:
    found = {}
    for line in result.stdout.splitlines():
        name, _, rest = line.partition("  ")
        if name in ("soap", "audit key", "database", "broker", "customs"):
            found[name] = rest.strip()
    return found


def test_every_secret_is_masked_in_the_effective_settings(tmp_path):
    result = check(
        tmp_path,
        CONNECTOR_DATABASE_URL="postgresql+psycopg://ledger:dbpass1@127.0.0.1:1/db",
        CONNECTOR_SOAP_USERS="customs:soappass3:clearance@NAWDH,audit:soappass4",
        CONNECTOR_CUSTOMS_PASSWORD="custpass5",
        CONNECTOR_DLQ_REPLAY_URL="amqp://permit-system:replaypass6@127.0.0.1:1/%2F",
        CONNECTOR_SPECIESPLUS_TOKEN="tok7",
    )
    assert "Traceback" not in result.output
    for secret in SECRETS:
        assert secret not in result.output, secret
    out = result.stdout
    assert 'database_url = "postgresql+psycopg://ledger:***@127.0.0.1:1/db"' in out
    assert 'amqp_url = "amqp://connector:***@127.0.0.1:1/%2F"' in out
    assert 'soap_users = "customs:***:clearance@NAWDH,audit:***"' in out
    assert 'customs_password = "***"' in out
    assert 'dlq_replay_url = "amqp://permit-system:***@127.0.0.1:1/%2F"' in out
    assert 'speciesplus_token = "***"' in out


def test_a_database_and_a_broker_out_of_reach_fail_with_exit_3(tmp_path):
    result = check(
        tmp_path, CONNECTOR_DATABASE_URL="postgresql+psycopg://ledger:dbpass1@127.0.0.1:1/db"
    )
    assert result.exit_code == 3, result.output
    found = verdicts(result)
    assert found["database"].startswith("FAIL  the ledger database is not reachable: connection")
    assert found["broker"] == "FAIL  amqp://connector:***@127.0.0.1:1/%2F: not reachable: " + (
        "Connection refused"
    )
    assert found["customs"].startswith("skip  customs_url not set")
    assert "Traceback" not in result.output and result.stderr == ""


def test_a_ledger_never_migrated_fails_saying_to_run_migrate(tmp_path):
    found = verdicts(result := check(tmp_path))
    assert result.exit_code == 3
    assert found["database"] == (
        "FAIL  the ledger database has no schema yet: run `cites-connector migrate`"
    )


def test_plain_http_customs_without_the_allowance_is_a_bad_setting_exit_2(tmp_path):
    result = check(tmp_path, CONNECTOR_CUSTOMS_URL="http://127.0.0.1:1/customs")
    assert result.exit_code == 2, result.output
    assert verdicts(result)["customs"].startswith(
        "BAD   CONNECTOR_CUSTOMS_URL http://127.0.0.1:1/customs is plain http"
    )


def test_a_customs_endpoint_out_of_reach_fails(tmp_path):
    result = check(tmp_path, CONNECTOR_CUSTOMS_URL="https://127.0.0.1:1/customs")
    assert result.exit_code == 3
    assert verdicts(result)["customs"] == (
        "FAIL  https://127.0.0.1:1/customs: not reachable: Connection refused"
    )


def test_soap_authentication_without_users_is_a_bad_setting_exit_2(tmp_path):
    result = check(tmp_path, CONNECTOR_SOAP_USERS="")
    assert result.exit_code == 2, result.output
    assert verdicts(result)["soap"] == (
        "BAD   authentication is on but CONNECTOR_SOAP_USERS names no user"
    )


def test_a_missing_audit_key_file_is_a_bad_setting_exit_2(tmp_path):
    result = check(tmp_path, CONNECTOR_AUDIT_KEY_FILE=str(tmp_path / "none.key"))
    assert result.exit_code == 2, result.output
    assert verdicts(result)["audit key"].startswith(
        f"BAD   no readable audit key file {tmp_path / 'none.key'}: `cites-connector migrate`"
    )


def test_bad_settings_are_one_line_and_exit_2(tmp_path):
    result = check(tmp_path, CONNECTOR_HOME_COUNTRY="Namibia")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("error: invalid settings: CONNECTOR_HOME_COUNTRY")
    assert len(result.stderr.splitlines()) == 1


def test_unknown_variables_are_reported_in_the_check_output_not_twice(tmp_path):
    result = check(tmp_path, CONNECTOR_AMQP_PREFECTH="5")
    line = (
        "warning: unknown environment variable CONNECTOR_AMQP_PREFECTH, ignored "
        "(did you mean CONNECTOR_AMQP_PREFETCH?)"
    )
    assert result.stdout.splitlines().count(line) == 1
    assert "warning" not in result.stderr

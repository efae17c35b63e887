"""Settings an operator can trust (issue 14, item 3): each mistake is one line on stderr
naming the variable or key and the form expected, exit code 2, never a traceback; an unknown
CONNECTOR_* variable is a warning; a secret may come from a file.

Each test is one operator error, run through the real command line (click's runner, the real
settings files and sources).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cites_connector.cli.main import cli


def run(tmp_path: Path, *args: str, **env: str) -> Result:
    base = {
        "CONNECTOR_HOME_COUNTRY": "NA",
        "CONNECTOR_DATA_DIR": str(tmp_path / "var"),
        "CONNECTOR_AMQP_URL": "amqp://connector:secret@127.0.0.1:1/%2F",
    }
    merged = {k: v for k, v in (base | env).items() if v != "<unset>"}
    return CliRunner().invoke(cli, list(args), env=merged)


def one_error(result: Result, code: int = 2) -> str:
    """Exit ``code``, no traceback, and stderr one line ``error: ...``."""
    assert result.exit_code == code, (result.exit_code, result.output)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def settings_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "connector.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_missing_home_country_names_its_variable_and_key(tmp_path):
    line = one_error(run(tmp_path, "permits", "show", "X", CONNECTOR_HOME_COUNTRY="<unset>"))
    assert "CONNECTOR_HOME_COUNTRY (TOML key home_country) is required" in line


@pytest.mark.parametrize("value", ["NAM", "XY", "N1"])
def test_a_home_country_that_is_not_iso_alpha_2_is_refused(tmp_path, value):
    line = one_error(run(tmp_path, "permits", "show", "X", CONNECTOR_HOME_COUNTRY=value))
    assert (
        f"CONNECTOR_HOME_COUNTRY (TOML key home_country): {value!r} is not an ISO 3166-1 " in line
    )


@pytest.mark.parametrize(
    "name", ["LOOKUP_TIMEOUT", "SOAP_IDLE_TIMEOUT_SECONDS", "SOAP_HEADER_TIMEOUT_SECONDS"]
)
def test_a_timeout_that_is_not_positive_is_refused(tmp_path, name):
    line = one_error(run(tmp_path, "permits", "show", "X", **{f"CONNECTOR_{name}": "0"}))
    assert f"CONNECTOR_{name} (TOML key {name.lower()}): Input should be greater than 0" in line


@pytest.mark.parametrize("verb", [("permits", "show", "X"), ("serve",)], ids=["verb", "serve"])
def test_a_database_url_that_does_not_parse_is_refused(tmp_path, verb):
    result = run(
        tmp_path, *verb, CONNECTOR_DATABASE_URL="postgres ql://nowhere", CONNECTOR_SOAP_USERS="a:b"
    )
    assert "CONNECTOR_DATABASE_URL (TOML key database_url): not a SQLAlchemy database URL" in (
        one_error(result)
    )


def test_a_database_of_another_kind_is_refused(tmp_path):
    line = one_error(run(tmp_path, "permits", "show", "X", CONNECTOR_DATABASE_URL="mysql://h/db"))
    assert "unsupported database 'mysql' (expected postgresql or sqlite)" in line


@pytest.mark.parametrize("verb", [("dlq", "list"), ("serve",)], ids=["verb", "serve"])
def test_an_amqp_url_pika_cannot_read_is_refused_without_its_password(tmp_path, verb):
    url = "amqp://connector:hunter2@broker:notaport/%2F"
    line = one_error(run(tmp_path, *verb, CONNECTOR_AMQP_URL=url, CONNECTOR_SOAP_USERS="a:b"))
    assert "CONNECTOR_AMQP_URL (TOML key amqp_url): not an AMQP URL pika can use" in line
    assert "hunter2" not in line


def test_a_customs_url_that_is_not_http_is_refused(tmp_path):
    result = run(tmp_path, "outbox", "status", CONNECTOR_CUSTOMS_URL="ftp://customs/x")
    line = one_error(result)
    assert "CONNECTOR_CUSTOMS_URL (TOML key customs_url): not an http or https URL" in line


def test_a_nested_setting_names_its_double_underscore_variable(tmp_path):
    line = one_error(run(tmp_path, "permits", "show", "X", CONNECTOR_LOGGING__FORMAT="xml"))
    assert "CONNECTOR_LOGGING__FORMAT (TOML key logging.format): Input should be 'json'" in line


def test_a_setting_missing_from_a_given_file_names_the_file(tmp_path):
    path = settings_file(tmp_path, 'data_dir = "./var"\n')
    line = one_error(
        run(tmp_path, "--config", str(path), "hs", "list", CONNECTOR_HOME_COUNTRY="<unset>")
    )
    assert line.endswith(f"set the variable or the key in {path}")


def test_a_settings_file_that_does_not_exist_is_refused(tmp_path):
    missing = tmp_path / "nowhere.toml"
    result = run(tmp_path, "hs", "list", CONNECTOR_CONFIG=str(missing))
    assert one_error(result) == f"error: configuration file {missing} does not exist"


def test_an_unknown_toml_key_is_refused_naming_the_nearest_known_key(tmp_path):
    path = settings_file(tmp_path, 'home_contry = "NA"\nlookup_timout = 5\n')
    line = one_error(run(tmp_path, "--config", str(path), "permits", "show", "X"))
    assert "unknown key home_contry (did you mean home_country?)" in line
    assert "unknown key lookup_timout (did you mean lookup_timeout?)" in line


def test_an_unknown_key_of_a_toml_table_is_refused_naming_the_nearest(tmp_path):
    path = settings_file(tmp_path, '[logging]\nlevle = "INFO"\n')
    line = one_error(run(tmp_path, "--config", str(path), "permits", "show", "X"))
    assert "unknown key logging.levle (did you mean logging.level?)" in line


def test_a_settings_file_that_is_not_toml_is_refused(tmp_path):
    path = settings_file(tmp_path, "home_country = NA\n")
    line = one_error(run(tmp_path, "--config", str(path), "permits", "show", "X"))
    assert line.startswith(f"error: the settings file {path} is not TOML: ")


def test_an_unknown_connector_variable_is_warned_about_once_with_the_nearest_name(tmp_path):
    result = run(tmp_path, "permits", "show", "X", CONNECTOR_LOKUP_TIMEOUT="9")
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert warnings == [
        "warning: unknown environment variable CONNECTOR_LOKUP_TIMEOUT, ignored "
        "(did you mean CONNECTOR_LOOKUP_TIMEOUT?)"
    ]


def test_a_misspelt_required_variable_is_named_before_the_missing_setting(tmp_path):
    result = run(
        tmp_path, "hs", "list", CONNECTOR_HOME_COUNTRY="<unset>", CONNECTOR_HOME_CONTRY="NA"
    )
    assert result.exit_code == 2 and "Traceback" not in result.output
    first, second = result.stderr.splitlines()
    assert "CONNECTOR_HOME_CONTRY, ignored (did you mean CONNECTOR_HOME_COUNTRY?)" in first
    assert "CONNECTOR_HOME_COUNTRY (TOML key home_country) is required" in second


def test_platform_injected_variables_are_not_warned_about(tmp_path):
    kubernetes = {
        "CONNECTOR_SERVICE_HOST": "10.0.0.11",
        "CONNECTOR_SERVICE_PORT": "8088",
        "CONNECTOR_SERVICE_PORT_SOAP": "8088",
        "CONNECTOR_PORT": "tcp://10.0.0.11:8088",
        "CONNECTOR_PORT_8088_TCP": "tcp://10.0.0.11:8088",
        "CONNECTOR_PORT_8088_TCP_PROTO": "tcp",
        "CONNECTOR_PORT_8088_TCP_PORT": "8088",
        "CONNECTOR_PORT_8088_TCP_ADDR": "10.0.0.11",
        "CONNECTOR_TEST_CHROMIUM": "/usr/bin/chromium",  # the test suite's own
    }
    result = run(tmp_path, "config", "check", "--no-probe", **kubernetes)
    assert result.exit_code == 0, result.output
    assert "warning" not in result.output


def test_a_secret_is_read_from_its_file_variable(tmp_path):
    secret = tmp_path / "customs-password"
    secret.write_text("s3cret-from-file\n")
    result = run(
        tmp_path,
        "config",
        "check",
        "--no-probe",
        CONNECTOR_CUSTOMS_PASSWORD_FILE=str(secret),
        CONNECTOR_CUSTOMS_URL="https://customs.example/cb",
    )
    assert result.exit_code == 0, result.output
    assert 'customs_password = "***"' in result.stdout
    assert "s3cret" not in result.output


def test_a_secret_file_that_cannot_be_read_is_refused_naming_it(tmp_path):
    missing = tmp_path / "no-such-file"
    result = run(tmp_path, "permits", "show", "X", CONNECTOR_DATABASE_URL_FILE=str(missing))
    assert one_error(result) == (
        f"error: CONNECTOR_DATABASE_URL_FILE: cannot read {missing}: No such file or directory"
    )


def test_a_secret_given_both_directly_and_by_file_is_refused(tmp_path):
    secret = tmp_path / "amqp-url"
    secret.write_text("amqp://a:b@h/%2F")
    result = run(tmp_path, "dlq", "list", CONNECTOR_AMQP_URL_FILE=str(secret))
    assert one_error(result) == "error: set CONNECTOR_AMQP_URL or CONNECTOR_AMQP_URL_FILE, not both"


def test_a_secret_file_holding_a_bad_value_is_named(tmp_path):
    secret = tmp_path / "database-url"
    secret.write_text("not a url at all\n")
    result = run(tmp_path, "hs", "list", CONNECTOR_DATABASE_URL_FILE=str(secret))
    assert "invalid settings: the file of CONNECTOR_DATABASE_URL_FILE (TOML key database_url): " + (
        "not a SQLAlchemy database URL"
    ) in one_error(result)

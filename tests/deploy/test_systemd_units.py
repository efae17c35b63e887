"""deploy/systemd/: the units pass `systemd-analyze verify` and its offline security review, say
what the brief of the kit promises (hardening, graceful stop, the data directory of the
production configuration), and the audit-verify unit's script publishes the real result of
`cites-connector audit verify` for node_exporter."""

from __future__ import annotations

import os
import re
import shlex
import sqlite3
import tomllib
from pathlib import Path

import pytest

from tests.deploy.serving import unit_section
from tests.deploy.tools import DEPLOY, ROOT, connector_command, connector_env, debian_tool, run

UNITS = DEPLOY / "systemd"
INSTALLED_SRC = "/opt/cites-connector/src/"
INSTALLED_COMMAND = "/opt/cites-connector/venv/bin/cites-connector"
TEXTFILE_SCRIPT = DEPLOY / "bin" / "cites-connector-audit-textfile"
ALL_UNITS = sorted(p.name for p in UNITS.iterdir() if p.suffix in (".service", ".timer"))


@pytest.fixture(scope="module")
def systemd_analyze():
    return debian_tool("systemd-analyze", "systemd")


@pytest.fixture(scope="module")
def installed_units(tmp_path_factory) -> Path:
    """The units as installed here: the paths under /opt point at this checkout."""
    directory = tmp_path_factory.mktemp("units")
    for name in ALL_UNITS:
        text = (UNITS / name).read_text()
        text = text.replace(INSTALLED_COMMAND, connector_command())
        text = text.replace(INSTALLED_SRC, f"{ROOT}/")
        (directory / name).write_text(text)
    return directory


def test_every_unit_passes_systemd_analyze_verify(systemd_analyze, installed_units):
    checked = run([systemd_analyze, "verify", "--man=no", *ALL_UNITS], cwd=installed_units)
    assert checked.returncode == 0, checked.stderr
    assert checked.stderr.strip() == "", checked.stderr  # warnings count too


@pytest.mark.parametrize(
    "unit",
    [
        "cites-connector.service",
        "cites-connector-audit-verify.service",
        "cites-connector-migrate.service",
    ],
)
def test_the_connector_units_are_hardened(systemd_analyze, installed_units, unit):
    review = run(
        [
            systemd_analyze,
            "security",
            "--offline=true",
            "--threshold=25",
            "--no-pager",
            str(installed_units / unit),
        ]
    )
    level = re.search(r"Overall exposure level for \S+: ([\d.]+)", review.stdout)
    assert level, review.stdout[-500:] + review.stderr
    assert float(level.group(1)) <= 2.5, review.stdout[-2000:]


def test_every_command_of_the_units_exists_in_the_kit():
    for name in ALL_UNITS:
        for line in (
            unit_section(UNITS / name).get("ExecStart", []) if name.endswith(".service") else []
        ):
            argv = shlex.split(line)
            for word in argv:
                if word.startswith(INSTALLED_SRC):
                    shipped = ROOT / word[len(INSTALLED_SRC) :]
                    assert shipped.is_file(), f"{name}: {word} is not in the repository"
            assert argv[0] in (INSTALLED_COMMAND, "/usr/bin/python3") or argv[0].startswith(
                INSTALLED_SRC
            ), f"{name}: unexpected program {argv[0]}"


def test_serve_runs_as_its_own_user_with_its_environment_file_and_stops_gracefully():
    service = unit_section(UNITS / "cites-connector.service")
    single = {k: v[-1] for k, v in service.items()}
    assert single["User"] == "cites-connector" and single["Group"] == "cites-connector"
    assert single["EnvironmentFile"] == "/etc/cites-connector/env"
    assert single["KillSignal"] == "SIGTERM"
    assert single["Restart"] == "on-failure"
    assert single["RestartPreventExitStatus"] == "2"  # bad configuration: do not loop
    argv = shlex.split(single["ExecStart"])
    assert argv[1] == "serve"
    grace = float(argv[argv.index("--grace") + 1])
    assert float(single["TimeoutStopSec"]) > grace + 30  # grace, then the workers' message
    for key, expected in [
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("PrivateTmp", "yes"),
        ("ProtectHome", "yes"),
        ("PrivateDevices", "yes"),
        ("CapabilityBoundingSet", ""),
    ]:
        assert single[key] == expected, key


def test_the_service_may_write_the_data_directory_of_the_production_configuration():
    production = tomllib.loads((DEPLOY / "config" / "production.toml").read_text())
    service = unit_section(UNITS / "cites-connector.service")
    assert production["data_dir"] in service["ReadWritePaths"][-1].split()
    assert f"/var/lib/{service['StateDirectory'][-1]}" == production["data_dir"]
    assert Path(production["audit_key_file"]).parent == Path("/etc/cites-connector")


def test_the_timer_runs_the_verification_daily(systemd_analyze):
    timer = unit_section(UNITS / "cites-connector-audit-verify.timer", "Timer")
    assert timer["Unit"] == ["cites-connector-audit-verify.service"]
    assert timer["Persistent"] == ["true"]
    calendar = run([systemd_analyze, "calendar", "--iterations=2", timer["OnCalendar"][0]])
    assert calendar.returncode == 0, calendar.stderr
    days = re.findall(r"(\d{4}-\d\d-\d\d) 03:17:00", calendar.stdout)
    assert len(days) == 2 and days[0] != days[1]


# -- the audit-verify unit's script, on a real ledger ----------------------------------------


@pytest.fixture
def ledger(tmp_path):
    env = connector_env(
        CONNECTOR_HOME_COUNTRY="NA",
        CONNECTOR_DATA_DIR=str(tmp_path / "var"),
        CONNECTOR_LOGGING__LEVEL="WARNING",
    )
    for args in (
        ["migrate"],
        ["permits", "import", str(ROOT / "examples" / "permits-namibia.json")],
    ):
        done = run([connector_command(), *args], env)
        assert done.returncode == 0, done.stderr
    return env, tmp_path / "var"


def publish(env, textfile_dir: Path) -> tuple[int, dict[str, int], str]:
    done = run(
        [
            "python3",
            str(TEXTFILE_SCRIPT),
            "--textfile-dir",
            str(textfile_dir),
            "--command",
            connector_command(),
        ],
        env,
    )
    text = (textfile_dir / "cites_connector_audit.prom").read_text()
    values = {
        m.group(1): int(m.group(2))
        for m in re.finditer(
            r'^cites_connector_audit_verify_ok\{chain="([^"]+)"\} (\d)$', text, re.M
        )
    }
    assert "# TYPE cites_connector_audit_verify_ok gauge" in text
    return done.returncode, values, done.stdout + done.stderr


def test_a_verified_ledger_publishes_one_for_every_chain(ledger, tmp_path):
    env, _ = ledger
    code, values, output = publish(env, tmp_path / "textfile")
    assert code == 0, output
    assert values == {"administration": 1, "ledger": 1, "hs_tables": 1}
    assert "ledger" in output  # the report reaches the journal, with the heads


def test_a_tampered_ledger_row_publishes_zero_and_fails_the_unit(ledger, tmp_path):
    env, data = ledger
    database = sqlite3.connect(data / "connector.sqlite3")
    with database:
        for (trigger,) in database.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_log'"
        ).fetchall():
            database.execute(f'DROP TRIGGER "{trigger}"')
        changed = database.execute(
            "UPDATE audit_log SET subject = subject || ' (edited)' "
            "WHERE id = (SELECT min(id) FROM audit_log)"
        ).rowcount
    database.close()
    assert changed == 1
    code, values, output = publish(env, tmp_path / "textfile")
    assert code == 1, output
    assert values["ledger"] == 0 and values["administration"] == 1


def test_another_audit_key_publishes_zero_for_the_chains(ledger, tmp_path):
    env, _ = ledger
    other_key = tmp_path / "other.key"
    other_key.write_text("b7" * 32 + "\n")
    other_key.chmod(0o600)
    code, values, output = publish(
        dict(env, CONNECTOR_AUDIT_KEY_FILE=str(other_key)), tmp_path / "textfile"
    )
    assert code == 1, output
    assert values["administration"] == 0 and values["ledger"] == 0
    assert "not the key" in output


def test_a_verification_that_cannot_run_publishes_zero_everywhere(ledger, tmp_path):
    env, _ = ledger
    unreachable = "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2"
    code, values, output = publish(
        dict(env, CONNECTOR_DATABASE_URL=unreachable), tmp_path / "textfile"
    )
    assert code == 3, output
    assert values == {"administration": 0, "ledger": 0, "hs_tables": 0}


# -- log rotation of a file log ----------------------------------------------------------------


def test_logrotate_copies_and_truncates_the_file_systemd_keeps_open(tmp_path):
    logrotate = debian_tool("logrotate", "logrotate")
    logs = tmp_path / "log"
    logs.mkdir()
    log = logs / "connector.log"
    writer = log.open("a")  # as systemd's StandardOutput=append: holds it
    writer.write('{"event": "serve.started"}\n')
    writer.flush()
    inode = log.stat().st_ino
    text = (DEPLOY / "logrotate" / "cites-connector").read_text()
    user = "root root" if os.geteuid() == 0 else None
    stanza = "\n/var/log/cites-connector/*.log {\n"
    assert text.count(stanza) == 1 and "su cites-connector cites-connector" in text
    text = text.replace(stanza, f"\n{logs}/*.log {{\n")
    text = text.replace(
        "    su cites-connector cites-connector\n", f"    su {user}\n" if user else ""
    )
    config = tmp_path / "logrotate.conf"
    config.write_text(text)
    rotated = run([logrotate, "--force", "--state", str(tmp_path / "state"), str(config)])
    assert rotated.returncode == 0, rotated.stderr
    writer.write('{"event": "serve.stopping"}\n')
    writer.close()
    copies = [p for p in logs.iterdir() if p.name != "connector.log"]
    assert len(copies) == 1 and "serve.started" in copies[0].read_text()
    assert log.stat().st_ino == inode  # the same file: the writer never lost it
    assert '"serve.started"' not in log.read_text() and "serve.stopping" in log.read_text()
